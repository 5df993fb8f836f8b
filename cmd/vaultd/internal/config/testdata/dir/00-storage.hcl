storage "raft" {
  path    = "/vault/data"
  node_id = "dir-node"
}
cluster_addr = "https://10.0.0.1:8201"
log_level    = "debug"
ui           = true
