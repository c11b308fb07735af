import CLatheCore

/// Reverse-mode automatic differentiation: ops record a `GradNode` on their output when grad
/// mode is on and an input requires a gradient; `backward()` walks the graph in reverse
/// topological order and accumulates gradients into leaves' `grad`.
public enum Autograd {
    /// Whether ops record gradients on this thread (thread-local, like PyTorch's grad mode).
    public static var enabled: Bool {
        get { lk_grad_enabled() != 0 }
        set { lk_set_grad_enabled(newValue ? 1 : 0) }
    }

    /// Runs body with gradient recording off (restored afterwards, also on error).
    public static func noGrad<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let old = enabled
        enabled = false
        defer { enabled = old }
        return try body()
    }

    @inline(__always) static func needs(_ a: Tensor) -> Bool { enabled && a.requiresGrad }
    @inline(__always) static func needs(_ a: Tensor, _ b: Tensor) -> Bool {
        enabled && (a.requiresGrad || b.requiresGrad)
    }
    @inline(__always) static func needs(_ ts: [Tensor]) -> Bool {
        enabled && ts.contains { $0.requiresGrad }
    }
}

extension Tensor {
    /// Attaches an autograd node to this (fresh) output.
    @inline(__always)
    func record(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) throws(LatheError) -> [Tensor?]) {
        gradFn = GradNode(name, inputs: inputs, backward: backward)
        requiresGrad = true
    }

    /// A tensor sharing this one's data but outside the graph (no gradFn, no requiresGrad).
    public func detach() -> Tensor {
        Tensor(storage: storage, offset: offset, shape: shape, strides: strides, dtype: dtype)
    }

    /// True for tensors that collect gradients in `grad` (no node made them).
    public var isLeaf: Bool { gradFn == nil }

    /// Marks a leaf as needing a gradient (float32 only).
    public func setRequiresGrad(_ on: Bool) throws(LatheError) {
        if on && dtype != .float32 {
            throw LatheError("only float32 tensors can require gradients (this one is \(dtype.rawValue))")
        }
        if !on && gradFn != nil {
            throw LatheError("cannot turn off requires_grad on a result of an op; use detach()")
        }
        requiresGrad = on
    }

    /// Backpropagates from this tensor. Without `gradient`, this must hold one element.
    public func backward(_ gradient: Tensor? = nil) throws(LatheError) {
        guard requiresGrad else {
            throw LatheError("this tensor does not require a gradient (no input of the ops that made it has requires_grad)")
        }
        let seed: Tensor
        if let g = gradient {
            guard g.shape == shape else {
                throw LatheError("gradient shape \(g.shapeString) does not match the tensor's \(shapeString)")
            }
            seed = try g.toFloat32()
        } else {
            guard count == 1 else {
                throw LatheError("backward() without a gradient needs a single-element tensor (got shape \(shapeString)); pass a gradient or reduce first (e.g. :sum())")
            }
            seed = try Tensor.full(shape, 1)
        }
        // reverse topological order (iterative DFS)
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            let id = ObjectIdentifier(t)
            if expanded {
                order.append(t)
                continue
            }
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((t, true))
            if let fn = t.gradFn {
                for inp in fn.inputs where inp.requiresGrad && !visited.contains(ObjectIdentifier(inp)) {
                    stack.append((inp, false))
                }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        let old = Autograd.enabled
        Autograd.enabled = false
        defer { Autograd.enabled = old }
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            if let fn = t.gradFn {
                let gs = try fn.backward(g)
                for (inp, gi) in zip(fn.inputs, gs) {
                    guard inp.requiresGrad, let gi else { continue }
                    let key = ObjectIdentifier(inp)
                    if let prev = grads[key] {
                        grads[key] = try prev.adding(gi)
                    } else {
                        grads[key] = gi
                    }
                }
            } else {
                // a leaf: accumulate
                let gc = g.shape == t.shape ? g : try g.sumTo(t.shape)
                if let existing = t.grad {
                    try existing.addInPlace(gc)
                } else {
                    // a copy: incoming gradients may alias other tensors (x + y passes g to both)
                    t.grad = try gc.contiguous(copy: true)
                }
            }
        }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}
