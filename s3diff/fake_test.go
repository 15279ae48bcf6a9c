package s3diff_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/shipshape-dev/shipshape/clock/clocktest"
	"github.com/shipshape-dev/shipshape/s3diff"
	"github.com/shipshape-dev/shipshape/s3diff/s3difftest"
)

type fakeStore struct {
	s     *s3difftest.Bucket
	name  string
	clock *clocktest.Clock // nil: the wall clock
}

func (f *fakeStore) api() s3diff.S3API { return f.s }
func (f *fakeStore) bucket() string    { return f.name }
func (f *fakeStore) put(_ *testing.T, key string, body []byte) string {
	return f.s.Put(f.name, key, body)
}
func (f *fakeStore) del(_ *testing.T, key string) string { return f.s.Delete(f.name, key) }

var bucketSeq atomic.Int64

func newFakeStore(t *testing.T) store {
	s := s3difftest.New()
	name := fmt.Sprintf("fake-%d", bucketSeq.Add(1))
	s.CreateBucket(name)
	return &fakeStore{s: s, name: name}
}

// newFakeStoreOnAClock is newFakeStore whose LastModified comes from a fake clock.
func newFakeStoreOnAClock(t *testing.T) *fakeStore {
	clock := clocktest.New()
	s := s3difftest.New(func(o *s3difftest.Options) { o.Clock = clock })
	name := fmt.Sprintf("fake-%d", bucketSeq.Add(1))
	s.CreateBucket(name)
	return &fakeStore{s: s, name: name, clock: clock}
}

func TestBehaviourOnTheFake(t *testing.T) { runSuite(t, newFakeStore) }
