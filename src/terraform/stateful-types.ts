/**
 * Stateful resource types: resources that hold data, so destroying or replacing one loses it —
 * databases, buckets, volumes, disks, file systems, queues and streams, key vaults and keys. A
 * plan that destroys or replaces one gets its own red line at the top of the check run and the
 * comment, and a failure-level annotation on its declaration.
 *
 * The built-in list covers the common providers (AWS, Google Cloud, Azure, Kubernetes,
 * DigitalOcean, Cloudflare and a few data stores). Operators add their own types with
 * `ATOLL_STATEFUL_TYPES` (comma-separated; `*` matches any run of characters, e.g. `acme_db_*`).
 */

/** Built-in stateful resource types (globs allowed). */
export const STATEFUL_TYPES: readonly string[] = [
  // AWS
  "aws_db_instance", "aws_db_cluster_snapshot", "aws_db_snapshot", "aws_rds_cluster", "aws_rds_cluster_instance", "aws_rds_global_cluster",
  "aws_dynamodb_table", "aws_dynamodb_global_table", "aws_s3_bucket", "aws_s3_directory_bucket", "aws_ebs_volume", "aws_ebs_snapshot",
  "aws_efs_file_system", "aws_fsx_*_file_system", "aws_elasticache_cluster", "aws_elasticache_replication_group",
  "aws_elasticache_serverless_cache", "aws_memorydb_cluster", "aws_redshift_cluster", "aws_redshiftserverless_namespace",
  "aws_docdb_cluster", "aws_docdb_cluster_instance", "aws_neptune_cluster", "aws_opensearch_domain", "aws_elasticsearch_domain",
  "aws_kms_key", "aws_secretsmanager_secret", "aws_kinesis_stream", "aws_kinesis_firehose_delivery_stream", "aws_msk_cluster",
  "aws_sqs_queue", "aws_backup_vault", "aws_glacier_vault", "aws_timestreamwrite_table", "aws_keyspaces_table", "aws_qldb_ledger",
  "aws_ecr_repository", "aws_cloudwatch_log_group",
  // Google Cloud
  "google_sql_database_instance", "google_sql_database", "google_storage_bucket", "google_compute_disk", "google_compute_region_disk",
  "google_compute_snapshot", "google_bigtable_instance", "google_bigtable_table", "google_spanner_instance", "google_spanner_database",
  "google_filestore_instance", "google_kms_crypto_key", "google_kms_key_ring", "google_bigquery_dataset", "google_bigquery_table",
  "google_redis_instance", "google_alloydb_cluster", "google_alloydb_instance", "google_firestore_database", "google_pubsub_topic",
  "google_secret_manager_secret", "google_artifact_registry_repository",
  // Azure
  "azurerm_storage_account", "azurerm_storage_container", "azurerm_storage_share", "azurerm_mssql_database", "azurerm_mssql_server",
  "azurerm_sql_database", "azurerm_postgresql_flexible_server", "azurerm_postgresql_server", "azurerm_mysql_flexible_server",
  "azurerm_mysql_server", "azurerm_cosmosdb_account", "azurerm_cosmosdb_*_database", "azurerm_key_vault", "azurerm_key_vault_key",
  "azurerm_key_vault_secret", "azurerm_managed_disk", "azurerm_redis_cache", "azurerm_recovery_services_vault",
  "azurerm_data_lake_store", "azurerm_eventhub_namespace", "azurerm_servicebus_namespace",
  // Kubernetes and Helm-managed storage
  "kubernetes_persistent_volume", "kubernetes_persistent_volume_v1", "kubernetes_persistent_volume_claim",
  "kubernetes_persistent_volume_claim_v1", "kubernetes_stateful_set", "kubernetes_stateful_set_v1", "kubernetes_secret", "kubernetes_secret_v1",
  // Others
  "digitalocean_database_cluster", "digitalocean_volume", "digitalocean_spaces_bucket", "cloudflare_r2_bucket", "cloudflare_d1_database",
  "cloudflare_workers_kv_namespace", "mongodbatlas_cluster", "mongodbatlas_advanced_cluster", "snowflake_database", "snowflake_table",
  "postgresql_database", "mysql_database", "vault_mount", "tls_private_key",
];

function matcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes("*")) return (type) => type === pattern;
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return (type) => re.test(type);
}

const builtIn = STATEFUL_TYPES.map(matcher);
const extraCache = new Map<string, ((type: string) => boolean)[]>();

/** Whether `type` is stateful: built in, or one of the operator's `extra` types. */
export function isStatefulType(type: string, extra: readonly string[] = []): boolean {
  if (builtIn.some((m) => m(type))) return true;
  if (extra.length === 0) return false;
  const key = extra.join(",");
  const ms = extraCache.get(key) ?? extraCache.set(key, extra.map(matcher)).get(key)!;
  return ms.some((m) => m(type));
}
