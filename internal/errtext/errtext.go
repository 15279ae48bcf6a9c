// Package errtext keeps error messages readable when errors are wrapped across layers: a
// package names itself once ("s3diff: listing versions of s3://b/k: ..."), however many of
// its own errors are wrapped inside each other.
package errtext

import "strings"

// Wrap returns an error that reads "pkg: context: <err>", where <err> is err's text without
// a leading "pkg: " (the package is named once), and that unwraps to err. A nil err gives nil.
func Wrap(pkg, context string, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{pkg: pkg, context: context, err: err}
}

type wrapped struct {
	pkg, context string
	err          error
}

func (w *wrapped) Error() string {
	return w.pkg + ": " + w.context + ": " + Strip(w.pkg, w.err.Error())
}

func (w *wrapped) Unwrap() error { return w.err }

// Strip removes a leading "pkg: " from text.
func Strip(pkg, text string) string {
	return strings.TrimPrefix(text, pkg+": ")
}

// Count is how many times "pkg: " appears in text; tests assert it is 1.
func Count(pkg, text string) int {
	return strings.Count(text, pkg+": ")
}

// Join returns an error that reads "pkg: <first>: <second>", each without a leading
// "pkg: ", and that matches both with errors.Is and errors.As (as fmt.Errorf("%w: %w") does).
func Join(pkg string, first, second error) error {
	return &joined{pkg: pkg, errs: []error{first, second}}
}

type joined struct {
	pkg  string
	errs []error
}

func (j *joined) Error() string {
	return j.pkg + ": " + Strip(j.pkg, j.errs[0].Error()) + ": " + Strip(j.pkg, j.errs[1].Error())
}

func (j *joined) Unwrap() []error { return j.errs }
