# ---------------------------------------------------------------- general

variable "region" {
  description = "AWS region to deploy into, e.g. eu-west-1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "shorty"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name))
    error_message = "name must be 2-16 characters of lower-case letters, digits and '-', starting with a letter (it becomes part of ALB and RDS names)."
  }
}

variable "environment" {
  description = "Environment name, part of every resource name (e.g. production, staging)."
  type        = string
  default     = "production"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2-12 lower-case letters or digits, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------- network

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into one public and one private /20-or-so subnet per AZ."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread subnets, NAT gateways, tasks, RDS and Redis over."
  type        = number
  default     = 2
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper) instead of one per AZ (survives an AZ outage)."
  type        = bool
  default     = false
}

variable "allowed_ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.allowed_ingress_cidrs) > 0 && alltrue([for c in var.allowed_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_ingress_cidrs must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "metrics_scrape_cidrs" {
  description = "CIDR blocks (inside the VPC) of Prometheus servers allowed to scrape /metrics on metrics_port. Empty: nobody."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.metrics_scrape_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "metrics_scrape_cidrs must be IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

# ---------------------------------------------------------------- load balancer

variable "certificate_arn" {
  description = "ARN of the ACM certificate for the HTTPS listener (it must cover the host of base_url)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-") || startswith(var.ssl_policy, "ELBSecurityPolicy-FS-1-2-")
    error_message = "ssl_policy must allow TLS 1.2+ only (an ELBSecurityPolicy-TLS13-* or ELBSecurityPolicy-FS-1-2-* policy)."
  }
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion (turn off before destroy)."
  type        = bool
  default     = true
}

variable "alb_idle_timeout" {
  description = "Seconds the ALB keeps an idle connection; keep it below shorty's keep_alive_timeout_ms (60 s by default)."
  type        = number
  default     = 50
  validation {
    condition     = var.alb_idle_timeout >= 1 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "access_log_retention_days" {
  description = "Days the ALB access logs are kept in their S3 bucket."
  type        = number
  default     = 90
  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "waf_rate_limit" {
  description = "WAF flood guard: requests per 5 minutes from one IP before it is blocked (shorty's own per-client limits apply below this)."
  type        = number
  default     = 20000
  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit must be between 100 and 2,000,000,000."
  }
}

# ---------------------------------------------------------------- shorty (ECS Fargate)

variable "image" {
  description = "Container image of shorty (built from deploy/docker/Dockerfile), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shorty:0.1.0. Pin a tag or digest."
  type        = string
  validation {
    condition     = can(regex("^[^:@\\s]+(:[A-Za-z0-9_.-]+|@sha256:[a-f0-9]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must name a tag (not latest) or a sha256 digest."
  }
}

variable "container_user" {
  description = "user:group the container runs as (non-root; the image's user)."
  type        = string
  default     = "10001:10001"
  validation {
    condition     = can(regex("^[1-9][0-9]*:[1-9][0-9]*$", var.container_user))
    error_message = "container_user must be a numeric non-root uid:gid such as 10001:10001."
  }
}

variable "base_url" {
  description = "Public prefix of short links (base_url), e.g. https://sho.rt; its host must resolve to the ALB."
  type        = string
  validation {
    condition     = can(regex("^https://[^/]+$", var.base_url))
    error_message = "base_url must be https://HOST with no path or trailing slash."
  }
}

variable "own_hosts" {
  description = "Other host names the service answers to (own_hosts), refused as link targets."
  type        = list(string)
  default     = []
}

variable "shorty_config" {
  description = "Further shorty config keys (shorty.toml names) and their values, passed as SHORTY_* variables, e.g. { create_rate = \"5\" }. The module sets listen, metrics_listen, base_url, trusted_proxies and own_hosts itself, and the secret keys come from Secrets Manager."
  type        = map(string)
  default     = {}
  validation {
    condition = alltrue([for k in keys(var.shorty_config) : contains([
      "redis_key_prefix", "redis_timeout_ms", "db_pool_size", "db_timeout_ms", "db_statement_cache",
      "allow_anonymous", "redirect_status", "code_length", "max_url_length", "cache_capacity",
      "blocklist", "log_format", "metrics", "create_rate", "create_burst", "api_rate", "api_burst",
      "redirect_rate", "redirect_burst", "auth_failure_rate", "auth_failure_burst",
      "header_read_timeout_ms", "keep_alive_timeout_ms", "request_timeout_ms", "max_connections",
      "otlp_endpoint", "geoip_db", "stats_retention_days",
    ], k)])
    error_message = "shorty_config keys must be shorty config keys other than listen, metrics_listen, base_url, trusted_proxies, own_hosts and the secrets (admin_token, database_url, redis_url, sentry_dsn)."
  }
}

variable "sentry_dsn" {
  description = "Sentry-compatible DSN for error reporting (sentry_dsn), stored in Secrets Manager. Empty: off."
  type        = string
  default     = ""
  sensitive   = true
}

variable "container_port" {
  description = "shorty's HTTP port (listen), the ALB's target port."
  type        = number
  default     = 8080
  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "container_port must be between 1024 and 65535 (shorty runs as non-root)."
  }
}

variable "metrics_port" {
  description = "Port of the separate /metrics listener (metrics_listen), never routed by the ALB."
  type        = number
  default     = 9090
  validation {
    condition     = var.metrics_port >= 1024 && var.metrics_port <= 65535
    error_message = "metrics_port must be between 1024 and 65535."
  }
}

variable "task_cpu" {
  description = "CPU units of one task (1024 = one vCPU)."
  type        = number
  default     = 1024
  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "task_memory" {
  description = "Memory of one task in MiB (must suit task_cpu; the in-process cache, cache_capacity, is its main use)."
  type        = number
  default     = 2048
  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory must be between 512 and 122880 MiB."
  }
}

variable "desired_count" {
  description = "Tasks at first deploy; autoscaling moves it between min_capacity and max_capacity afterwards."
  type        = number
  default     = 2
  validation {
    condition     = var.desired_count >= 1
    error_message = "desired_count must be at least 1."
  }
}

variable "min_capacity" {
  description = "Fewest tasks autoscaling keeps (2 or more so one AZ or task can fail)."
  type        = number
  default     = 2
  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be at least 1."
  }
}

variable "max_capacity" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 10
  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 1000
    error_message = "max_capacity must be between 1 and 1000."
  }
}

variable "cpu_target_percent" {
  description = "Target average CPU utilization of the service, in percent."
  type        = number
  default     = 60
  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_target" {
  description = "Target ALB requests per task per minute (ALBRequestCountPerTarget). The default, 10,000 a second, is what deploy/README.md's sizing plans for a 1-vCPU task."
  type        = number
  default     = 600000
  validation {
    condition     = var.requests_per_target >= 1
    error_message = "requests_per_target must be at least 1."
  }
}

variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL (stopTimeout). shorty needs up to 9: 8 to finish in-flight requests, 1 for the final click flush. Fargate allows at most 120."
  type        = number
  default     = 30
  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 2 and 120 seconds."
  }
}

variable "deregistration_delay" {
  description = "Seconds the ALB keeps a draining target before the task is stopped, so in-flight requests finish before SIGTERM."
  type        = number
  default     = 30
  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "health_check_grace_period" {
  description = "Seconds after a task starts before failed ALB health checks count (migrations run at start)."
  type        = number
  default     = 60
  validation {
    condition     = var.health_check_grace_period >= 0 && var.health_check_grace_period <= 2147483647
    error_message = "health_check_grace_period must not be negative."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps shorty's logs, VPC flow logs and WAF logs."
  type        = number
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

# ---------------------------------------------------------------- PostgreSQL (RDS)

variable "db_engine_version" {
  description = "RDS PostgreSQL engine version (major.minor)."
  type        = string
  default     = "16.4"
  validation {
    condition     = can(regex("^1[3-9]\\.[0-9]+$", var.db_engine_version))
    error_message = "db_engine_version must be major.minor with major 13 or newer, e.g. 16.4."
  }
}

variable "db_name" {
  description = "Name of shorty's database."
  type        = string
  default     = "shorty"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lower-case PostgreSQL identifier."
  }
}

variable "db_username" {
  description = "Master user of the database (shorty connects as it; its password is generated)."
  type        = string
  default     = "shorty"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username)) && !contains(["postgres", "rdsadmin", "admin"], var.db_username)
    error_message = "db_username must be a lower-case PostgreSQL identifier other than postgres, rdsadmin or admin."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.medium."
  }
}

variable "db_allocated_storage" {
  description = "Initial storage of the database, in GiB."
  type        = number
  default     = 20
  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 65536
    error_message = "db_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling, in GiB (0 turns storage autoscaling off)."
  type        = number
  default     = 200
  validation {
    condition     = var.db_max_allocated_storage == 0 || var.db_max_allocated_storage >= 20
    error_message = "db_max_allocated_storage must be 0 or at least 20."
  }
}

variable "db_multi_az" {
  description = "Run a synchronous standby in a second AZ with automatic failover."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups; point-in-time recovery covers this window (so at least 1)."
  type        = number
  default     = 14
  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35: 0 would switch off backups and point-in-time recovery."
  }
}

variable "db_deletion_protection" {
  description = "Protect the database from deletion (turn off before destroy)."
  type        = bool
  default     = true
}

variable "db_performance_insights_retention_days" {
  description = "Days Performance Insights keeps its data (7 is free; otherwise a multiple of 31, up to 731)."
  type        = number
  default     = 7
  validation {
    condition     = var.db_performance_insights_retention_days == 7 || (var.db_performance_insights_retention_days % 31 == 0 && var.db_performance_insights_retention_days <= 731) || var.db_performance_insights_retention_days == 731
    error_message = "db_performance_insights_retention_days must be 7, a multiple of 31, or 731."
  }
}

variable "db_monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples (0 turns it off)."
  type        = number
  default     = 60
  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.db_monitoring_interval)
    error_message = "db_monitoring_interval must be 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "backend_tls" {
  description = "Require TLS from shorty to PostgreSQL (rds.force_ssl, sslmode=require) and Redis (rediss://, transit encryption required). false keeps the servers' TLS available but also accepts plaintext inside the VPC; only for a shorty build older than TLS support."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------- Redis (ElastiCache)

variable "redis_engine_version" {
  description = "ElastiCache Redis OSS engine version."
  type        = string
  default     = "7.1"
  validation {
    condition     = can(regex("^[67]\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be 6.x or 7.x (transit encryption modes need 7)."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type must be an ElastiCache node type such as cache.t4g.small."
  }
}

variable "redis_num_cache_clusters" {
  description = "Redis nodes: one primary and replicas in other AZs, with automatic failover (so at least 2)."
  type        = number
  default     = 2
  validation {
    condition     = var.redis_num_cache_clusters >= 2 && var.redis_num_cache_clusters <= 6
    error_message = "redis_num_cache_clusters must be between 2 and 6 (a primary and at least one replica for failover)."
  }
}

variable "redis_snapshot_retention_days" {
  description = "Days of Redis snapshots (shorty keeps nothing in Redis that the store does not have, so little is needed)."
  type        = number
  default     = 1
  validation {
    condition     = var.redis_snapshot_retention_days >= 0 && var.redis_snapshot_retention_days <= 35
    error_message = "redis_snapshot_retention_days must be between 0 and 35."
  }
}

# ---------------------------------------------------------------- alarms

variable "create_sns_topic" {
  description = "Create an SNS topic (KMS-encrypted) that every alarm notifies."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (needs create_sns_topic; the address must confirm). Empty: none."
  type        = string
  default     = ""
  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "alarm_actions" {
  description = "Further ARNs (SNS topics, ...) notified by every alarm."
  type        = list(string)
  default     = []
}

variable "alarm_5xx_percent" {
  description = "Alarm when more than this percentage of requests end in a 5xx (from shorty or the ALB) over 5 minutes."
  type        = number
  default     = 1
  validation {
    condition     = var.alarm_5xx_percent > 0 && var.alarm_5xx_percent <= 100
    error_message = "alarm_5xx_percent must be above 0 and at most 100."
  }
}

variable "alarm_p99_seconds" {
  description = "Alarm when the p99 of TargetResponseTime exceeds this many seconds."
  type        = number
  default     = 0.25
  validation {
    condition     = var.alarm_p99_seconds > 0
    error_message = "alarm_p99_seconds must be positive."
  }
}

variable "alarm_db_cpu_percent" {
  description = "Alarm when the database's CPU stays above this percentage for 15 minutes."
  type        = number
  default     = 80
  validation {
    condition     = var.alarm_db_cpu_percent > 0 && var.alarm_db_cpu_percent <= 100
    error_message = "alarm_db_cpu_percent must be above 0 and at most 100."
  }
}

variable "alarm_db_free_storage_gib" {
  description = "Alarm when the database's free storage falls below this many GiB."
  type        = number
  default     = 5
  validation {
    condition     = var.alarm_db_free_storage_gib > 0
    error_message = "alarm_db_free_storage_gib must be positive."
  }
}
