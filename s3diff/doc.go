// Package s3diff diffs versions of one S3 object and keeps only its newest N versions,
// exactly: versions of the exact key only, in the order S3 returns them, across any number
// of pages, never deleting the latest version.
//
// Status: planned (issue 8); the package has no API yet.
package s3diff
