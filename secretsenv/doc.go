// Package secretsenv puts AWS Secrets Manager secrets into a process's environment, exactly
// and safely: values arrive byte for byte (newlines, quotes, $(...), backticks, unicode),
// no shell ever sees them, nothing is written to disk, and any failure (a secret missing or
// denied, a bad or reserved name, two secrets giving one variable) means no variables at
// all. It backs the secretsenv binary, which also serves as a Lambda layer exec wrapper.
//
// # Usage
//
//	loader, err := secretsenv.NewFromConfig(cfg, func(o *secretsenv.Options) { o.Prefix = "APP_" })
//	if err != nil { ... }  // options that can't work (a prefix like "APP-"); no call made
//	vars, err := loader.Load(ctx, []secretsenv.Secret{{ID: "prod/api"}, {ID: "prod/tls-key", Var: "TLS_KEY"}})
//	if err != nil { ... }  // names the secret and the cause, never a value
//	err = secretsenv.Exec("/app/server", nil, loader.Environ(vars)) // or Format(vars, "dotenv")
//
// # Following rotation
//
// A long-running service that embeds the package can keep its values current without a
// restart: Loader.Watch loads the secrets once and returns a Watcher. Watcher.Run checks every
// WatchOptions.Interval (5 minutes, with jitter) whether a secret's stage moved to another
// version, with DescribeSecret (one call per secret; grant secretsmanager:DescribeSecret on
// the secrets beside GetSecretValue) or, with WatchOptions.List, ListSecrets
// (ten names per call; needs secretsmanager:ListSecrets, which shows the names, tags and
// version ids, never the values, of every secret a name prefix matches). Only a secret that
// moved is read, by the exact version seen, and the callback gets the whole new set of
// variables and the names that changed, never half a change: when a read or the conversion
// fails, the last good variables stay (Watcher.Vars) and Watcher.Health says since when checks
// fail. While nothing changes, no value is read. Secrets are checked one by one, not as one
// snapshot: two secrets rotated at nearly the same moment may arrive as two changes, each of
// them whole.
//
// During a rotation, a version with the stage AWSPENDING exists while AWSCURRENT still marks
// the old one: a watcher of AWSCURRENT (the default) sees nothing until the rotation's last
// step moves AWSCURRENT, then reads the new value. For a database password this means the
// service keeps connecting with the old password until the rotation has set and tested the
// new one; a rotation that keeps the old user valid for a while (the alternating-users
// strategy) leaves time for the next check. A service that must accept the previous value
// for a grace period can load the secret twice: {ID: s} and {ID: s, VersionStage:
// "AWSPREVIOUS", Var: ...} (AWSPREVIOUS is followed like any stage). In Lambda the
// environment is fixed when the function starts: the layer's exec wrapper reads the secrets
// once per execution environment; to follow a rotation there, either let new environments pick
// it up (a re-deploy or configuration change forces them) or call Watch from the function's
// own code.
//
// # Conversion policy
//
// A secret whose SecretString is a JSON object gives one variable per top-level key: strings
// as they are, numbers exactly as written (1.50 stays 1.50, 1e6 stays 1e6), booleans as true
// and false, objects and arrays as compact JSON, null as "" (an error in strict mode);
// duplicate keys are an error. Any other secret (plaintext, or another JSON value) gives one
// variable named with Secret.Var, holding the string as stored. SecretBinary is refused
// unless Options.Binary is BinaryBase64. Names derived from keys may be normalised
// (upper-cased, '-', '.' and ' ' to '_') and prefixed; renames are taken as given; a name must
// match [A-Za-z_][A-Za-z0-9_]* (an error in strict mode, skipped with a warning otherwise).
// Reserved names (AWS_*, LAMBDA_*, _X_AMZN_*, LD_*, SECRETSENV_*, PATH, HOME, _HANDLER) are
// an error in every mode, and so is replacing a variable already set unless
// Options.AllowOverride.
//
// # Fetching
//
// Secrets are fetched with GetSecretValue, up to Options.Parallelism at a time, or with
// BatchGetSecretValue (20 per call) when Options.Batch is set; its quota is 100 calls per
// second and can't be raised, so it is not the default; when the role may not call it, each
// secret is fetched with GetSecretValue instead (a warning names the missing permission).
// Throttling, server and transport errors are retried by the AWS SDK's own retryer and by
// nothing else: one call goes out at most Options.MaxAttempts times (4), all within one
// overall timeout (10 s by default). Every setting that would make a variable invalid
// whatever the secrets hold is refused before the first call (Validate). AssumeRoleCredentials
// assumes a role first, with cached, refreshing credentials.
//
// # Output formats
//
// Format prints shell (export lines for eval), JSON, and dotenv. Dotenv is written without
// any escape (unquoted, 'single' or "double" quoted as the value allows), which python-dotenv,
// the npm dotenv package and Node's util.parseEnv all read back exactly; a value they can't
// all read exactly (a carriage return, ${...}, both quote kinds) is refused with
// ErrCannotFormat, naming the variable and never the value.
//
// # Concurrency
//
// A Loader and a Watcher are safe for concurrent use; Watcher.Run blocks until its context
// ends.
//
// # Errors
//
// Sentinels: ErrNotFound, ErrAccessDenied, ErrThrottled, ErrInvalidSecret, ErrInvalidName,
// ErrReservedName, ErrConflict, ErrExists, ErrInvalidInput, ErrCannotFormat. Errors name the
// package once, first ("secretsenv: secret "x": ..."). *SecretError carries the secret
// id (and JSON key). The SDK's error stays reachable with errors.As. No error and no log line
// contains a secret value; the tests check that.
//
// # Testing
//
// Package secretsenvtest has stateful fakes of Secrets Manager and STS (Fail(op, err, times),
// Calls, Reset and fakeapi.Inputs, as every fake of the module) and a WireServer that serves
// the fake in Secrets Manager's own JSON protocol, for tests of a real SDK client (the retryer
// included) or of a binary pointed at it with AWS_ENDPOINT_URL_SECRETS_MANAGER. One suite
// (TestLoaderContractOnEveryImplementation) proves the Loader on the fake, the wire server
// and moto alike.
package secretsenv
