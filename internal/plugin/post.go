package plugin

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPostCommand is a placeholder until the command lands.
func newPostCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "post",
		Short: "(not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("kubectl tiktok post: not yet built") },
	}
}
