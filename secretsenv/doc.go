// Package secretsenv puts AWS Secrets Manager secrets into a process's environment, exactly
// and safely: every requested secret or a clear error, never a partial environment, and no
// secret value in logs or errors. It also backs a Lambda layer exec wrapper that fetches the
// secrets before the function's runtime starts.
//
// Status: planned (issue 4); the package has no API yet.
package secretsenv
