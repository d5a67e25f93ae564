package plugin

import "context"

// pool bounds and recycles a plugin's instances. slots holds one token per live instance, so at
// most cap(slots) exist; idle holds those not serving a call. Instances are created lazily, when a
// call finds none idle and a slot free. It is kind-neutral: a mapper run will hold an instance
// across batches with the same get and put.
type pool struct {
	idle  chan *instance
	slots chan struct{}
}

func newPool(size int) pool {
	return pool{idle: make(chan *instance, size), slots: make(chan struct{}, size)}
}

// get returns an idle instance, or a new one made by create when a slot is free, or waits for one of
// them until ctx is done.
func (p *pool) get(ctx context.Context, create func(context.Context) (*instance, error)) (*instance, error) {
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	select {
	case in := <-p.idle:
		return in, nil
	case p.slots <- struct{}{}:
		in, err := create(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return in, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// add puts a live instance made outside get into the pool (the first one, made at load).
func (p *pool) add(in *instance) {
	p.slots <- struct{}{}
	p.idle <- in
}

// put returns an instance after a call: back to idle, or closed when dead (freeing its slot).
func (p *pool) put(in *instance) {
	if in.dead {
		in.close()
		<-p.slots
		return
	}
	p.idle <- in
}

// closeAll closes the idle instances. It is called when no call is running, so all are idle.
func (p *pool) closeAll() {
	for {
		select {
		case in := <-p.idle:
			in.close()
			<-p.slots
		default:
			return
		}
	}
}
