package drcli

import (
	"testing"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueryFlagWithTheConcatenationOperator: -query NAME|SQL|WANT. PostgreSQL's string
// concatenation is "||" (dr.md's own example statement uses it): a query using it must be
// read as written, or refused, not split into a truncated SQL and a wrong WANT that fail an
// hour later, after the restore.
func TestQueryFlagWithTheConcatenationOperator(t *testing.T) {
	c, err := ChecksFromFlags("", 0, nil, []string{"first email|SELECT 'user' || min(id) || '@example.com' FROM customers|user1@example.com"})
	if err != nil {
		assert.ErrorIs(t, err, dr.ErrInvalidInput)
		return
	}
	require.Len(t, c.Queries, 1)
	assert.Equal(t, "SELECT 'user' || min(id) || '@example.com' FROM customers", c.Queries[0].SQL)
	assert.Equal(t, "user1@example.com", c.Queries[0].Want)
}
