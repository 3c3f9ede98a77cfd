# PostgreSQL, shorty's durable store: private, encrypted with the module's
# key, Multi-AZ by default, automated backups (point-in-time recovery to any
# second in the retention window), deletion protection, Performance
# Insights, Enhanced Monitoring, logs to CloudWatch.

resource "aws_db_subnet_group" "main" {
  name        = local.prefix
  description = "shorty PostgreSQL in the private subnets"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.prefix}-pg${local.db_major}-"
  family      = "postgres${local.db_major}"
  description = "shorty PostgreSQL ${local.db_major}"

  # TLS from clients: var.backend_tls (on by default).
  parameter {
    name  = "rds.force_ssl"
    value = var.backend_tls ? "1" : "0"
  }
  # Slow statements and schema changes in the log.
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  db_major = split(".", var.db_engine_version)[0]
}

resource "aws_db_instance" "main" {
  identifier     = local.prefix
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  # Automated backups are what point-in-time recovery restores from.
  backup_retention_period  = var.db_backup_retention_days
  backup_window            = "02:00-03:00"
  maintenance_window       = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false
  deletion_protection      = var.db_deletion_protection
  skip_final_snapshot      = false
  final_snapshot_identifier = "${local.prefix}-final"

  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  apply_immediately                   = false
  iam_database_authentication_enabled = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = var.db_performance_insights_retention_days
  monitoring_interval                   = var.db_monitoring_interval
  monitoring_role_arn                   = var.db_monitoring_interval > 0 ? aws_iam_role.rds_monitoring[0].arn : null
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_iam_role_policy_attachment.rds_monitoring]
}
