# shorty on AWS: a VPC over several AZs, an ALB (TLS, WAF), ECS Fargate
# tasks that autoscale on CPU and requests per target, RDS PostgreSQL,
# ElastiCache Redis, Secrets Manager, CloudWatch logs, dashboard and alarms.
# See README.md.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The first az_count zones of the region, by name. No "state" filter: a zone
# that is briefly impaired during a plan must not shift every subnet to
# another zone.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first az_count zone names are used (slice in locals); a zone AWS adds later sorts after them and is never picked up. An identity filter would hard-code zone names, which differ per region.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  prefix     = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = slice(data.aws_availability_zones.available.names, 0, var.az_count)

  tags = merge(var.tags, {
    Application = "shorty"
    Name        = local.prefix
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # The ALB sits in the public subnets and appends the client's address to
  # X-Forwarded-For: shorty believes that header from these ranges only.
  trusted_proxies = [for s in aws_subnet.public : s.cidr_block]

  # Config keys (shorty.toml names) passed as SHORTY_* variables. The four
  # secret keys come from Secrets Manager instead (see ecs.tf).
  shorty_config = merge(
    {
      listen          = "0.0.0.0:${var.container_port}"
      metrics_listen  = "0.0.0.0:${var.metrics_port}"
      base_url        = var.base_url
      log_format      = "json"
      trusted_proxies = join(",", local.trusted_proxies)
    },
    length(var.own_hosts) > 0 ? { own_hosts = join(",", var.own_hosts) } : {},
    var.shorty_config,
  )
  shorty_environment = [
    for key in sort(keys(local.shorty_config)) : {
      name  = "SHORTY_${upper(key)}"
      value = local.shorty_config[key]
    }
  ]
}
