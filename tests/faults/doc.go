// Package faults runs real vaultd processes, each on its own loopback
// address (127.77.<b>.21, .22, …; netfault.Addr), and cuts the network between them with
// iptables (tests/internal/netfault): an isolated active node, an isolated
// standby, a minority/majority split, a bridge node and a flapping link.
// Each test checks what Vault users rely on: a cut-off active node stops
// serving (no read that started after a newer write was acknowledged
// elsewhere returns older data), every acknowledged write is readable after
// healing, and the cluster serves again through every node.
//
// Without root or a working iptables the tests skip with the reason. The
// seeded, porcupine-checked mix of partitions with kill -9 and SIGSTOP is
// tests/linearizability (long runs: -chaos.duration). Disk faults are in
// disk_test.go.
package faults
