package plugin

import (
	"errors"

	"github.com/spf13/cobra"
)

// newConnectCommand is a placeholder until the command lands.
func newConnectCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "connect",
		Short: "(not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("kubectl tiktok connect: not yet built") },
	}
}
