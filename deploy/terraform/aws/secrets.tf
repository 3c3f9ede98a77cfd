# The four secret config keys live in Secrets Manager, encrypted with the
# module's key; ECS injects them as SHORTY_* variables at task start, so
# they never appear in the task definition.
#
# The generated passwords and the URLs built from them are in the Terraform
# state too: keep the state in an encrypted, access-controlled backend.

resource "random_password" "admin_token" {
  length  = 48
  special = false
}

# URL-safe characters only: the password is embedded in database_url.
resource "random_password" "db" {
  length           = 40
  special          = true
  override_special = "-_"
}

# ElastiCache AUTH tokens: 16-128 printable characters, no @ " /.
resource "random_password" "redis" {
  length           = 64
  special          = true
  override_special = "-_"
}

locals {
  secrets = merge(
    {
      admin_token  = random_password.admin_token.result
      database_url = "postgres://${var.db_username}:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}?sslmode=${var.backend_tls ? "require" : "prefer"}"
      redis_url    = "${var.backend_tls ? "rediss" : "redis"}://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:${aws_elasticache_replication_group.main.port}"
    },
    var.sentry_dsn != "" ? { sentry_dsn = var.sentry_dsn } : {},
  )
  # Which secrets exist may depend only on whether sentry_dsn is set, not
  # on its value (for_each keys cannot be sensitive).
  secret_names = concat(
    ["admin_token", "database_url", "redis_url"],
    nonsensitive(var.sentry_dsn != "") ? ["sentry_dsn"] : [],
  )
  secret_arns = [for k, s in aws_secretsmanager_secret.shorty : s.arn]
}

resource "aws_secretsmanager_secret" "shorty" {
  for_each = toset(local.secret_names)

  #checkov:skip=CKV2_AWS_57:These values are derived (database_url and redis_url embed passwords Terraform generates, admin_token is shorty's own): rotating them means re-applying Terraform, which rewrites the secret and the database or Redis password together; a rotation Lambda would rotate only half of the pair.
  name                    = "${local.prefix}/${each.key}"
  description             = "shorty's ${each.key} (SHORTY_${upper(each.key)})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "shorty" {
  for_each = aws_secretsmanager_secret.shorty

  secret_id     = each.value.id
  secret_string = local.secrets[each.key]
}
