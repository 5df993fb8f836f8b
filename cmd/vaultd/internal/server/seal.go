package server

import (
	"context"
	"log/slog"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/seal/transit"
)

// seals builds the configured auto seal and the seal being migrated away
// from (a disabled stanza); nil, nil under Shamir. The enabled seal's token
// is kept alive for as long as ctx lives (unless disable_renewal).
func seals(ctx context.Context, cfg *config.Config, log *slog.Logger) (enabled, from seal.Wrapper, err error) {
	build := func(sl *config.Seal) (*transit.Seal, error) {
		t := sl.Transit
		return transit.New(transit.Config{
			Address: t.Address, Token: string(t.Token), MountPath: t.MountPath, KeyName: t.KeyName, KeyIDPrefix: t.KeyIDPrefix,
			TLSCACert: t.TLSCACert, TLSClientCert: t.TLSClientCert, TLSClientKey: t.TLSClientKey,
			TLSServerName: t.TLSServerName, TLSSkipVerify: t.TLSSkipVerify,
			DisableRenewal: t.DisableRenewal, Logger: log,
		})
	}
	if sl := cfg.EnabledSeal(); sl != nil {
		s, err := build(sl)
		if err != nil {
			return nil, nil, err
		}
		go s.RenewLoop(ctx)
		log.Info("auto seal configured", "seal_type", sl.Type, "address", sl.Transit.Address, "key_name", sl.Transit.KeyName)
		enabled = s
	}
	if sl := cfg.DisabledSeal(); sl != nil {
		s, err := build(sl)
		if err != nil {
			return nil, nil, err
		}
		log.Info("disabled seal configured: seal migration away from it", "seal_type", sl.Type)
		from = s
	}
	return enabled, from, nil
}
