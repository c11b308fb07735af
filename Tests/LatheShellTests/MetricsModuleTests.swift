import CLua
import Foundation
import LatheCore
import LatheLua
import Testing

/// The metrics binding with tensor inputs (the `tensor` Lua module is written elsewhere, so
/// tensors are put into globals from Swift here).
@Suite struct MetricsModuleTensorTests {
    func vm(_ globals: [String: Tensor]) throws -> LuaVM {
        let vm = try LuaVM(stdlib: nil)
        for (k, t) in globals {
            vm.pushObject(t)
            lua_setglobal(vm.L, k)
        }
        return vm
    }

    @Test func labelsFromInt64FloatAndBoolTensors() throws {
        let v = try vm([
            "yi": Tensor(int64s: [1, 0, 1, 1], shape: [4]),
            "yf": Tensor(floats: [1, 1, 1, 0], shape: [4]),
            "yb": Tensor(bools: [true, false, true, true], shape: [4]),
            "col": Tensor(int64s: [1, 0, 1, 1], shape: [4, 1]),
        ])
        #expect(v.run("assert(metrics.accuracy(yi, {1, 1, 1, 0}) == 0.5)") == nil)
        #expect(v.run("assert(metrics.accuracy(yi, yf) == 0.5)") == nil)
        #expect(v.run("assert(metrics.f1(yi, yf) == metrics.f1({1, 0, 1, 1}, {1, 1, 1, 0}))") == nil)
        #expect(v.run("assert(metrics.accuracy(yb, {true, true, true, false}) == 0.5)") == nil)
        #expect(v.run("assert(metrics.accuracy(col, yi) == 1)") == nil)
        #expect(v.run("assert(metrics.confusion(yi, yf):get(0, 1) == 1)") == nil)
        #expect(v.run("local r = metrics.report(yi, yf) assert(r.classes[1].support == 3)") == nil)
    }

    @Test func badTensorsAreErrorsNamingTheArgument() throws {
        let v = try vm([
            "half": Tensor(floats: [0.5, 1], shape: [2]),
            "mat": Tensor(int64s: [1, 0, 1, 1], shape: [2, 2]),
        ])
        let e1 = v.run("metrics.accuracy({1, 1}, half)")
        #expect(e1?.contains("metrics.accuracy: bad argument #2 'y_pred' (a float32 tensor of labels must hold integers, element 1 is 0.5)") == true, "\(e1 ?? "")")
        let e2 = v.run("metrics.accuracy(mat, {1, 1, 1, 1})")
        #expect(e2?.contains("bad argument #1 'y_true' (expected a 1-D tensor of labels, got shape [2,2])") == true, "\(e2 ?? "")")
    }

    @Test func scoresProbabilitiesAndLossesFromTensors() throws {
        let v = try vm([
            "y": Tensor(int64s: [0, 0, 1, 1], shape: [4]),
            "s": Tensor(floats: [0.1, 0.4, 0.35, 0.8], shape: [4]),
            "p2": Tensor(floats: [0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8], shape: [4, 2]),
            "losses": Tensor(floats: [2, 4], shape: [2]),
            "bad": Tensor(floats: [0.1, .nan, 0.3, 0.4], shape: [4]),
        ])
        #expect(v.run("assert(metrics.roc_auc(y, s) == 0.75)") == nil)
        #expect(v.run("assert(math.abs(metrics.average_precision(y, s) - metrics.average_precision({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8})) < 1e-7)") == nil)
        #expect(v.run("""
            local a = metrics.log_loss(y, p2)
            local b = metrics.log_loss({0, 0, 1, 1}, {{0.9, 0.1}, {0.6, 0.4}, {0.65, 0.35}, {0.2, 0.8}})
            assert(math.abs(a - b) < 1e-6, a .. ' ' .. b)
            local e = metrics.ece(y, p2, {bins = 5})
            assert(e >= 0 and e <= 1)
            """) == nil)
        #expect(v.run("assert(math.abs(metrics.perplexity(losses) - math.exp(3)) < 1e-9)") == nil)
        #expect(v.run("assert(metrics.ks(s, s).p_value == 1)") == nil)
        #expect(v.run("assert(math.abs(metrics.psi(s, s)) < 1e-12)") == nil)
        let e = v.run("metrics.roc_auc(y, bad)")
        #expect(e?.contains("bad argument #2 'scores' (element 2 is NaN; expected finite numbers)") == true, "\(e ?? "")")
    }

    @Test func resamplingWithTensorLabels() throws {
        let v = try vm([
            "y": Tensor(int64s: [1, 0, 1, 1, 0, 1, 0, 0], shape: [8]),
            "a": Tensor(int64s: [1, 0, 0, 1, 1, 1, 0, 1], shape: [8]),
        ])
        #expect(v.run("""
            local r = metrics.bootstrap("f1", y, a, {n = 50, seed = 3})
            assert(r.score == metrics.f1(y, a))
            local t = metrics.paired_test(y, a, a, {n = 50, seed = 3})
            assert(t.p_value == 1)
            local s = metrics.slices({1, 1, 1, 1, 2, 2, 2, 2}, y, a)
            assert(#s == 2)
            """) == nil)
    }
}
