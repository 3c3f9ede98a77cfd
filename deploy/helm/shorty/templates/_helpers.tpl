{{/* Names and labels. */}}
{{- define "shorty.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shorty.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shorty.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shorty.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shorty.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shorty.labels" -}}
helm.sh/chart: {{ include "shorty.chart" . }}
{{ include "shorty.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shorty
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shorty.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shorty.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "shorty.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding the secret config keys: chart-made or existing. */}}
{{- define "shorty.secretName" -}}
{{- default (include "shorty.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Whether the pods are several (or may become several): SQLite cannot be shared. */}}
{{- define "shorty.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* The sqlite:// URL of the embedded store. */}}
{{- define "shorty.sqliteUrl" -}}
{{- printf "sqlite://%s" .Values.sqlite.path }}
{{- end }}

{{/* The mount point of the SQLite volume: the directory of sqlite.path. */}}
{{- define "shorty.dataDir" -}}
{{- dir .Values.sqlite.path }}
{{- end }}

{{/* Prometheus label matchers for this release's scrape job. */}}
{{- define "shorty.promSelector" -}}
namespace="{{ .Release.Namespace }}",job="{{ include "shorty.fullname" . }}"
{{- end }}

{{/*
Config keys whose values are integers. Helm reads every YAML number as a
float, which would print 1000000 as 1e+06; these are printed as integers.
*/}}
{{- define "shorty.integerKeys" -}}
redis_timeout_ms db_pool_size db_timeout_ms db_statement_cache redirect_status code_length max_url_length cache_capacity create_burst api_burst redirect_burst auth_failure_burst header_read_timeout_ms keep_alive_timeout_ms request_timeout_ms max_connections stats_retention_days
{{- end }}

{{/*
Checks the combinations values.schema.json cannot express. Each failure
says what to change.
*/}}
{{- define "shorty.validate" -}}
{{- $v := .Values }}
{{- if and (eq $v.database.type "sqlite") (include "shorty.multiReplica" .) }}
{{- fail (printf "shorty: database.type is sqlite, which is one file on one volume and cannot be shared by several pods, but replicaCount is %v and autoscaling.enabled is %v. Run one replica (replicaCount: 1, autoscaling.enabled: false), or set database.type: postgres with postgresql.url (or secrets.existingSecret) to run more." $v.replicaCount $v.autoscaling.enabled) }}
{{- end }}
{{- if and (eq $v.database.type "postgres") (not $v.postgresql.url) (not $v.secrets.existingSecret) }}
{{- fail "shorty: database.type is postgres but no database URL was given: set postgresql.url, or secrets.existingSecret naming a Secret with the key database_url." }}
{{- end }}
{{- if and (eq $v.database.type "sqlite") $v.postgresql.url }}
{{- fail "shorty: postgresql.url is set but database.type is sqlite: set database.type: postgres to use it, or clear postgresql.url." }}
{{- end }}
{{- if and $v.redis.enabled (not $v.redis.url) (not $v.secrets.existingSecret) }}
{{- fail "shorty: redis.enabled is true but no Redis URL was given: set redis.url, or secrets.existingSecret naming a Secret with the key redis_url." }}
{{- end }}
{{- if and $v.redis.url (not $v.redis.enabled) }}
{{- fail "shorty: redis.url is set but redis.enabled is false: set redis.enabled: true to use it, or clear redis.url." }}
{{- end }}
{{- if and $v.secrets.existingSecret (or $v.secrets.adminToken $v.secrets.sentryDsn $v.postgresql.url $v.redis.url) }}
{{- fail "shorty: secrets.existingSecret is set, so the secret values come from it: leave secrets.adminToken, secrets.sentryDsn, postgresql.url and redis.url empty." }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail (printf "shorty: autoscaling.minReplicas (%v) is greater than autoscaling.maxReplicas (%v)." $v.autoscaling.minReplicas $v.autoscaling.maxReplicas) }}
{{- end }}
{{- if le (int $v.shutdown.terminationGracePeriodSeconds) (int $v.shutdown.preStopSleepSeconds) }}
{{- fail (printf "shorty: shutdown.terminationGracePeriodSeconds (%v) must be longer than shutdown.preStopSleepSeconds (%v), or SIGTERM never gives shorty time to drain." $v.shutdown.terminationGracePeriodSeconds $v.shutdown.preStopSleepSeconds) }}
{{- end }}
{{- if and (or $v.serviceMonitor.enabled $v.prometheusRule.enabled $v.autoscaling.requestsPerSecond.enabled) (not $v.metrics.enabled) }}
{{- fail "shorty: serviceMonitor, prometheusRule and autoscaling.requestsPerSecond read shorty's metrics, but metrics.enabled is false." }}
{{- end }}
{{- if and $v.blocklistHosts $v.config.blocklist }}
{{- fail "shorty: set blocklistHosts (the chart writes the file) or config.blocklist (your own file), not both." }}
{{- end }}
{{- if and $v.metrics.separatePort (eq (int $v.containerPorts.http) (int $v.containerPorts.metrics)) }}
{{- fail "shorty: containerPorts.http and containerPorts.metrics must differ when metrics.separatePort is true." }}
{{- end }}
{{- end }}

{{/* The container's env: the secret config keys, then extraEnv. */}}
{{- define "shorty.env" -}}
{{- $sqlite := eq .Values.database.type "sqlite" }}
{{- $secretName := include "shorty.secretName" . }}
{{- $keys := .Values.secrets.keys }}
{{- $existing := .Values.secrets.existingSecret }}
{{- if not $sqlite }}
- name: SHORTY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $keys.databaseUrl }}
{{- end }}
{{- if .Values.redis.enabled }}
- name: SHORTY_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $keys.redisUrl }}
{{- end }}
{{- if or $existing .Values.secrets.adminToken }}
- name: SHORTY_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $keys.adminToken }}
      # Without the key admin access is simply off.
      optional: true
{{- end }}
{{- if or $existing .Values.secrets.sentryDsn }}
- name: SHORTY_SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $keys.sentryDsn }}
      optional: true
{{- end }}
{{- with .Values.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
