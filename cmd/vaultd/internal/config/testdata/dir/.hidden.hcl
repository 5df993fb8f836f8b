storage "raft" {}
