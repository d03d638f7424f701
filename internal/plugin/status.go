package plugin

import (
	"errors"

	"github.com/spf13/cobra"
)

// newStatusCommand is a placeholder until the command lands.
func newStatusCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "(not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("kubectl tiktok status: not yet built") },
	}
}
