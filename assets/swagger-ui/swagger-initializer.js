// Served at /docs/swagger-initializer.js. Kept out of index.html so the page
// works under a strict Content-Security-Policy (no inline script needed).
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api-docs/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Never contact the public validator.swagger.io service. (Its badge is
    // only rendered by StandaloneLayout, which we don't use, but be explicit.)
    validatorUrl: null
  });
};
