package secretsenv

import (
	"fmt"
	"os/exec"
	"syscall"
)

// Exec replaces the current process with command, run with env (see Loader.Environ). It
// returns only on failure, with an error that names the command; nothing has run then.
func Exec(command string, args []string, env []string) error {
	path, err := exec.LookPath(command)
	if err != nil {
		return fmt.Errorf("secretsenv: can't run %q: %w", command, err)
	}
	argv := append([]string{command}, args...)
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("secretsenv: exec %s: %w", path, err)
	}
	return nil // not reached
}
