// Command vaultd is the vaultd server and its Vault-compatible CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
