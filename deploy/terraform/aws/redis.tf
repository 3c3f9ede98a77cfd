# Redis (ElastiCache, Redis OSS), shorty's shared cache, code-block counter,
# rate limits and invalidation channel: private, encrypted at rest with the
# module's key and in transit, AUTH token, a replica in another AZ with
# automatic failover by default.

resource "aws_elasticache_subnet_group" "main" {
  name        = local.prefix
  description = "shorty Redis in the private subnets"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_cloudwatch_log_group" "redis" {
  name              = "/elasticache/${local.prefix}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.prefix
  description          = "shorty shared cache, counters, rate limits"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = var.redis_num_cache_clusters
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  # "required" refuses plaintext clients; "preferred" accepts both
  # (var.backend_tls).
  transit_encryption_mode = var.backend_tls ? "required" : "preferred"
  auth_token              = random_password.redis.result

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
