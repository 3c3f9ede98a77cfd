output "service_url" {
  description = "The public URL of shorty (base_url); point its host's DNS at alb_dns_name."
  value       = var.base_url
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (CNAME or alias target for base_url's host)."
  value       = aws_lb.main.dns_name
}

output "alb_zone_id" {
  description = "Route 53 hosted zone of the load balancer, for an alias record."
  value       = aws_lb.main.zone_id
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.main.id
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (tasks, RDS, Redis)."
  value       = aws_subnet.private[*].id
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "ECS service name (aws ecs update-service --force-new-deployment to roll it)."
  value       = aws_ecs_service.app.name
}

output "task_definition_arn" {
  description = "ARN of the current task definition revision."
  value       = aws_ecs_task_definition.app.arn
}

output "log_group_name" {
  description = "CloudWatch log group of shorty's JSON logs."
  value       = aws_cloudwatch_log_group.app.name
}

output "db_endpoint" {
  description = "PostgreSQL endpoint (host:port), reachable from the private subnets only."
  value       = aws_db_instance.main.endpoint
}

output "db_instance_id" {
  description = "RDS instance identifier (for snapshots and point-in-time restores)."
  value       = aws_db_instance.main.identifier
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint address, reachable from the private subnets only."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "secret_arns" {
  description = "Secrets Manager ARNs by config key (admin_token, database_url, redis_url, and sentry_dsn when set)."
  value       = { for k, s in aws_secretsmanager_secret.shorty : k => s.arn }
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key encrypting logs, secrets, RDS and Redis."
  value       = aws_kms_key.main.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (null when create_sns_topic is false)."
  value       = one(aws_sns_topic.alarms[*].arn)
}
