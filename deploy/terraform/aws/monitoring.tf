# CloudWatch dashboard and alarms, and the SNS topic they notify.

resource "aws_sns_topic" "alarms" {
  count = var.create_sns_topic ? 1 : 0

  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "alarms_topic" {
  count = var.create_sns_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = var.create_sns_topic ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarms_topic[0].json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.create_sns_topic && var.alarm_email != "" ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)
  alb_dims = {
    LoadBalancer = aws_lb.main.arn_suffix
  }
  tg_dims = {
    LoadBalancer = aws_lb.main.arn_suffix
    TargetGroup  = aws_lb_target_group.app.arn_suffix
  }
  db_dims = {
    DBInstanceIdentifier = aws_db_instance.main.identifier
  }
}

# ---------------------------------------------------------------- alarms

resource "aws_cloudwatch_metric_alarm" "alb_5xx_rate" {
  alarm_name          = "${local.prefix}-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_percent}% of requests answered 5xx (by shorty or by the ALB) over 5 minutes. 503 from shorty: the store is unreachable; 502/504 from the ALB: tasks are failing or too slow."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_percent
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests"
    label       = "5xx share of requests (%)"
    return_data = true
  }
  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_dims
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id = "elb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.alb_dims
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dims
      period      = 300
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "p99_latency" {
  alarm_name          = "${local.prefix}-p99-latency"
  alarm_description   = "p99 of TargetResponseTime above ${var.alarm_p99_seconds} s for 10 minutes: cache misses reach a slow store or tasks are saturated."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.tg_dims
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.alarm_p99_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name          = "${local.prefix}-unhealthy-hosts"
  alarm_description   = "At least one task has failed the /healthz health check for 3 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.tg_dims
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "no_healthy_hosts" {
  alarm_name          = "${local.prefix}-no-healthy-hosts"
  alarm_description   = "No task passes the /healthz health check: shorty is down."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = local.tg_dims
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${local.prefix}-db-cpu"
  alarm_description   = "Database CPU above ${var.alarm_db_cpu_percent}% for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = local.db_dims
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.alarm_db_cpu_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  alarm_name          = "${local.prefix}-db-free-storage"
  alarm_description   = "Database free storage below ${var.alarm_db_free_storage_gib} GiB (storage autoscaling stops at db_max_allocated_storage)."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = local.db_dims
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarm_db_free_storage_gib * 1024 * 1024 * 1024
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# ---------------------------------------------------------------- dashboard

locals {
  alb = aws_lb.main.arn_suffix
  tg  = aws_lb_target_group.app.arn_suffix
  db  = aws_db_instance.main.identifier
  ecs = [aws_ecs_cluster.main.name, aws_ecs_service.app.name]

  dashboard_widgets = [
    {
      title   = "Requests per minute"
      metrics = [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", local.alb, { stat = "Sum", period = 60 }]]
    },
    {
      title = "5xx per minute (shorty, ALB)"
      metrics = [
        ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", local.alb, { stat = "Sum", period = 60 }],
        ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", local.alb, { stat = "Sum", period = 60 }],
        ["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "LoadBalancer", local.alb, { stat = "Sum", period = 60 }],
      ]
    },
    {
      title = "Target response time (s)"
      metrics = [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", local.alb, "TargetGroup", local.tg, { stat = "p50", period = 60 }],
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", local.alb, "TargetGroup", local.tg, { stat = "p90", period = 60 }],
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", local.alb, "TargetGroup", local.tg, { stat = "p99", period = 60 }],
      ]
    },
    {
      title = "Healthy and unhealthy tasks"
      metrics = [
        ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", local.alb, "TargetGroup", local.tg, { stat = "Minimum", period = 60 }],
        ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", local.alb, "TargetGroup", local.tg, { stat = "Maximum", period = 60 }],
      ]
    },
    {
      title = "ECS CPU and memory (%)"
      metrics = [
        ["AWS/ECS", "CPUUtilization", "ClusterName", local.ecs[0], "ServiceName", local.ecs[1], { stat = "Average", period = 60 }],
        ["AWS/ECS", "MemoryUtilization", "ClusterName", local.ecs[0], "ServiceName", local.ecs[1], { stat = "Average", period = 60 }],
      ]
    },
    {
      title   = "Running tasks"
      metrics = [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", local.ecs[0], "ServiceName", local.ecs[1], { stat = "Average", period = 60 }]]
    },
    {
      title = "PostgreSQL CPU (%) and connections"
      metrics = [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", local.db, { stat = "Average", period = 60 }],
        ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", local.db, { stat = "Maximum", period = 60, yAxis = "right" }],
      ]
    },
    {
      title   = "PostgreSQL free storage (bytes)"
      metrics = [["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", local.db, { stat = "Minimum", period = 300 }]]
    },
    {
      title = "PostgreSQL latency (s)"
      metrics = [
        ["AWS/RDS", "ReadLatency", "DBInstanceIdentifier", local.db, { stat = "Average", period = 60 }],
        ["AWS/RDS", "WriteLatency", "DBInstanceIdentifier", local.db, { stat = "Average", period = 60 }],
      ]
    },
    {
      title = "Redis CPU (%), memory (%), connections"
      metrics = [
        ["AWS/ElastiCache", "EngineCPUUtilization", "ReplicationGroupId", aws_elasticache_replication_group.main.id, { stat = "Average", period = 60 }],
        ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "ReplicationGroupId", aws_elasticache_replication_group.main.id, { stat = "Average", period = 60 }],
        ["AWS/ElastiCache", "CurrConnections", "ReplicationGroupId", aws_elasticache_replication_group.main.id, { stat = "Maximum", period = 60, yAxis = "right" }],
      ]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({
    widgets = concat(
      [
        for i, w in local.dashboard_widgets : {
          type   = "metric"
          x      = (i % 2) * 12
          y      = floor(i / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = w.title
            region  = var.region
            view    = "timeSeries"
            stacked = false
            metrics = w.metrics
          }
        }
      ],
      [
        {
          type   = "log"
          x      = 0
          y      = ceil(length(local.dashboard_widgets) / 2) * 6
          width  = 24
          height = 6
          properties = {
            title  = "shorty errors (JSON log lines at level ERROR)"
            region = var.region
            query  = "SOURCE '${aws_cloudwatch_log_group.app.name}' | fields @timestamp, @message | filter level = 'ERROR' | sort @timestamp desc | limit 50"
            view   = "table"
          }
        },
        {
          type   = "alarm"
          x      = 0
          y      = ceil(length(local.dashboard_widgets) / 2) * 6 + 6
          width  = 24
          height = 3
          properties = {
            title = "Alarms"
            alarms = [
              aws_cloudwatch_metric_alarm.alb_5xx_rate.arn,
              aws_cloudwatch_metric_alarm.p99_latency.arn,
              aws_cloudwatch_metric_alarm.unhealthy_hosts.arn,
              aws_cloudwatch_metric_alarm.no_healthy_hosts.arn,
              aws_cloudwatch_metric_alarm.db_cpu.arn,
              aws_cloudwatch_metric_alarm.db_free_storage.arn,
            ]
          }
        },
      ],
    )
  })
}
