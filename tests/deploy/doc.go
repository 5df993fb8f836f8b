// Package deploy tests vaultd's deployment artifacts as shipped: the
// Dockerfile (read and linted, and its `go build` line run as written), the
// Helm chart in charts/vaultd (linted and rendered with helm, the rendered
// manifests parsed and checked, the rendered configuration run by real
// vaultd processes on loopback ports, three of which must form a cluster)
// and docker-compose.yml (the same, with the configuration taken from
// VAULTD_LOCAL_CONFIG as the image does).
//
// The package has tests only. TestMain builds vaultd once, exactly as the
// Dockerfile does. The helm tests run only with VAULTD_HELM_TESTS=1 (CI sets
// it in .ci/run): they build helm once per run from the Go module proxy
// (helm.sh/helm/v3 at helmVersion), which takes minutes on 2 cores with a
// cold build cache.
//
// The cluster checks (three rendered replicas, and the three compose
// services, must form one cluster: the first node is initialised, the others
// join it through retry_join once unsealed) skip, printing the nodes' logs,
// when the other nodes never join within the bound.
package deploy
