package plugin

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRetryCommand is a placeholder until the command lands.
func newRetryCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "retry",
		Short: "(not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("kubectl tiktok retry: not yet built") },
	}
}
