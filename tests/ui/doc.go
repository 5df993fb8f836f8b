// Package ui holds the browser tests of vaultd's web UI: real vaultd
// processes on loopback, driven through headless Chromium with
// github.com/chromedp/chromedp. They initialise and unseal a 3-node
// cluster through the UI, log in with userpass, write, read and delete a
// secret, and watch a failover on the cluster page. Screenshots go to
// tests/artifacts/ui/<test name>/ (git-ignored).
//
// Without a Chromium binary the tests skip, except under CI=true, where a
// missing browser is a failure (.ci/run installs Debian's chromium).
// VAULTD_CHROMIUM names the binary to use.
package ui
