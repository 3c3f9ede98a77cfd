# One customer-managed key, rotated yearly, for everything shorty stores:
# logs, secrets, the database, its Performance Insights, Redis and the
# alarm topic.

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a KMS key policy: its Resource "*" means this key only. The root-account statement is AWS's default key policy, without which the key could become unmanageable; IAM policies then grant use of it (see iam.tf).
  #checkov:skip=CKV_AWS_111:Same key policy: "*" is this key, and write access is limited to this account and to the CloudWatch Logs and CloudWatch services under conditions.
  #checkov:skip=CKV_AWS_356:Same key policy: a key policy's Resource is always "*" (the key it is attached to); there is no narrower ARN to name.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncrypts"
    actions = [
      "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
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

resource "aws_kms_key" "main" {
  description             = "${local.prefix}: logs, secrets, database, Redis, alarms"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.main.key_id
}
