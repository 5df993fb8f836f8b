package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) newMonitorCmd() *cobra.Command {
	var level, format string
	cmd := &cobra.Command{
		Use:   "monitor [-log-level=LEVEL] [-log-format=FORMAT]",
		Short: "Stream log messages from a vaultd server",
		Long: `Streams the log of the server at VAULT_ADDR (GET /v1/sys/monitor) until
Ctrl-C. Each node streams its own log, standbys included: point
VAULT_ADDR (or -address) at the node to watch. The token needs sudo on
sys/monitor. -log-level picks the least severe level streamed (trace,
debug, info, warn, error; the node's own log level does not limit it) and
-log-format the form of each line (standard or json).`,
		Example: `  vaultd monitor
  vaultd monitor -log-level=debug
  vaultd monitor -log-format=json -address=https://node2.example.com:8200`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			level = strings.ToLower(strings.TrimSpace(level))
			switch level {
			case "trace", "debug", "info", "warn", "error":
			default:
				return usageError(cmd, "%s is an unknown log level. Valid log levels are: trace, debug, info, warn, error", level)
			}
			format = strings.ToLower(strings.TrimSpace(format))
			switch format {
			case "standard", "json":
			default:
				return usageError(cmd, "%s is an unknown log format. Valid log formats are: standard, json", format)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			c.SetClientTimeout(0) // the stream lasts until Ctrl-C
			ctx := cmd.Context()
			lines, err := c.Sys().Monitor(ctx, level, format)
			if err != nil {
				return apiError("Error starting monitor: %s", describe(err))
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case l, ok := <-lines:
					if !ok {
						if ctx.Err() == nil { // not Ctrl-C: the node went away (shutdown)
							fmt.Fprintln(a.stderr, "Monitor ended: the server closed the stream")
						}
						return nil // exit 0, as Vault
					}
					fmt.Fprintln(a.stdout, strings.TrimRight(l, "\n"))
				}
			}
		},
	}
	cmd.Flags().StringVar(&level, "log-level", "info", "least severe level to stream: trace, debug, info, warn, error")
	cmd.Flags().StringVar(&format, "log-format", "standard", "line format: standard or json")
	a.addHTTPFlags(cmd)
	return cmd
}
