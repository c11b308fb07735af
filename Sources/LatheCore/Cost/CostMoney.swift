import Foundation

/// Money and planning: cloud training cost (on demand vs spot), API vs in-house, ROI,
/// break-even, cost per metric point, and phased budgets with a text Gantt chart.
extension Cost {
    static func positive(_ x: Double, _ name: String, _ hint: String = "") throws(LatheError) {
        if !(x > 0 && x.isFinite) {
            throw LatheError("\(name) must be a positive number (got \(formatNumber(x)))\(hint.isEmpty ? "" : "; " + hint)")
        }
    }
    /// Results must be finite numbers: inputs so large that the arithmetic overflows are errors.
    static func finite(_ x: Double?, _ what: String) throws(LatheError) {
        if let x, !x.isFinite { throw LatheError("\(what): too large to compute (the inputs overflow a double)") }
    }
    static func nonNegative(_ x: Double, _ name: String) throws(LatheError) {
        if !(x >= 0 && x.isFinite) {
            throw LatheError("\(name) must be zero or a positive number (got \(formatNumber(x)))")
        }
    }

    // MARK: Cloud

    public struct CloudOptions: Sendable {
        public var hours: Double
        public var gpus: Int = 1
        public var onDemandPrice: Double? = nil
        public var spotPrice: Double? = nil
        /// Extra run time on spot instances to redo work lost to interruptions (a fraction).
        public var interruptionOverhead: Double = 0.15
        public var storageGB: Double = 0
        public var storagePricePerGBMonth: Double = 0.10
        public var storageMonths: Double = 1
        public var transferGB: Double = 0
        public var transferPricePerGB: Double = 0.09
        /// Which total `total` reports.
        public var spot: Bool = false
        public init(hours: Double) { self.hours = hours }
    }

    public struct CloudCost: Sendable {
        public var computeOnDemand: Double?
        public var computeSpot: Double?
        public var spotHours: Double
        public var storage: Double
        public var transfer: Double
        public var totalOnDemand: Double?
        public var totalSpot: Double?
        public var savings: Double? {
            guard let a = totalOnDemand, let b = totalSpot else { return nil }
            return a - b
        }
        public var total: Double
        public var options: CloudOptions
        public var gpu: GPU
        public var onDemandPrice: Double?
        public var spotPrice: Double?
    }

    /// compute = hours x GPUs x price per GPU-hour; spot runs (1 + overhead) x longer;
    /// storage = GB x price per GB-month x months; transfer = GB x price per GB.
    public static func cloud(gpu: GPU, _ o: CloudOptions) throws(LatheError) -> CloudCost {
        try positive(o.hours, "hours", "the wall-clock hours of the job (cost.train_time gives them)")
        if o.gpus < 1 { throw LatheError("gpus must be a positive integer (got \(o.gpus))") }
        try nonNegative(o.interruptionOverhead, "interruption_overhead")
        try nonNegative(o.storageGB, "storage_gb")
        try nonNegative(o.storagePricePerGBMonth, "storage_price")
        try nonNegative(o.storageMonths, "storage_months")
        try nonNegative(o.transferGB, "transfer_gb")
        try nonNegative(o.transferPricePerGB, "transfer_price")
        if let p = o.onDemandPrice { try positive(p, "on_demand_price") }
        if let p = o.spotPrice { try positive(p, "spot_price") }
        let od = o.onDemandPrice ?? gpu.onDemand
        let sp = o.spotPrice ?? gpu.spot
        if od == nil && sp == nil {
            throw LatheError("GPU '\(gpu.name)' has no price in the catalog (pass on_demand_price = USD per GPU-hour)")
        }
        if o.spot && sp == nil {
            throw LatheError("GPU '\(gpu.name)' has no spot price in the catalog (pass spot_price = USD per GPU-hour, or spot = false)")
        }
        if !o.spot && od == nil {
            throw LatheError("GPU '\(gpu.name)' has no on-demand price in the catalog (pass on_demand_price = USD per GPU-hour, or spot = true)")
        }
        let g = Double(o.gpus)
        let spotHours = o.hours * (1 + o.interruptionOverhead)
        let cOD = od.map { o.hours * g * $0 }
        let cSP = sp.map { spotHours * g * $0 }
        let storage = o.storageGB * o.storagePricePerGBMonth * o.storageMonths
        let transfer = o.transferGB * o.transferPricePerGB
        let tOD = cOD.map { $0 + storage + transfer }
        let tSP = cSP.map { $0 + storage + transfer }
        try finite(tOD, "the on-demand total")
        try finite(tSP, "the spot total")
        try finite(storage + transfer, "storage and transfer")
        return CloudCost(computeOnDemand: cOD, computeSpot: cSP, spotHours: spotHours, storage: storage,
                         transfer: transfer, totalOnDemand: tOD, totalSpot: tSP,
                         total: (o.spot ? tSP : tOD) ?? 0, options: o, gpu: gpu, onDemandPrice: od, spotPrice: sp)
    }

    // MARK: API vs in-house

    public struct APIvsInHouseOptions: Sendable {
        public var inputTokensPerMonth: Double = 0
        public var outputTokensPerMonth: Double = 0
        /// USD per million input / output tokens.
        public var apiInputPrice: Double = 0
        public var apiOutputPrice: Double = 0
        public var hardwareCost: Double = 0
        public var amortizationMonths: Double = 36
        public var hostingPerMonth: Double = 0
        public var gpuHoursPerMonth: Double = 0
        /// USD per GPU-hour; nil: the on-demand price of `gpu`.
        public var gpuPricePerHour: Double? = nil
        public var gpu: GPU? = nil
        public var powerPerMonth: Double = 0
        public var staffHoursPerMonth: Double = 0
        public var staffRate: Double = 0
        public var setupCost: Double = 0
        public var months: Int = 12
        public init() {}
    }

    public struct APIvsInHouse: Sendable {
        public var apiPerMonth: Double
        public var hardwarePerMonth: Double
        public var hostingPerMonth: Double
        public var gpuPerMonth: Double
        public var powerPerMonth: Double
        public var staffPerMonth: Double
        public var inHousePerMonth: Double { hardwarePerMonth + hostingPerMonth + gpuPerMonth + powerPerMonth + staffPerMonth }
        public var savingsPerMonth: Double { apiPerMonth - inHousePerMonth }
        public var setupCost: Double
        public var months: Int
        public var totalAPI: Double { apiPerMonth * Double(months) }
        public var totalInHouse: Double { setupCost + inHousePerMonth * Double(months) }
        /// First month whose cumulative API bill reaches the in-house cost (nil: never).
        public var breakevenMonth: Int?
        public var tokensPerMonth: Double
        public var cheaper: String { totalAPI <= totalInHouse ? "api" : "in-house" }
        /// ROI of going in-house over the horizon: (API spend avoided - in-house cost) / in-house cost.
        public var roi: Double? { totalInHouse > 0 ? (totalAPI - totalInHouse) / totalInHouse : nil }
        public var apiPerMillion: Double? { tokensPerMonth > 0 ? apiPerMonth / tokensPerMonth * 1e6 : nil }
        public var inHousePerMillion: Double? { tokensPerMonth > 0 ? inHousePerMonth / tokensPerMonth * 1e6 : nil }
    }

    /// Monthly API bill (tokens x price per million) against in-house cost per month
    /// (hardware / amortization months + hosting + GPU hours x price + power + staff hours x
    /// rate), with one-off setup cost; break-even is the first month m with
    /// m x API >= setup + m x in-house.
    public static func apiVsInHouse(_ o: APIvsInHouseOptions) throws(LatheError) -> APIvsInHouse {
        for (v, n) in [(o.inputTokensPerMonth, "tokens_per_month"), (o.outputTokensPerMonth, "output_tokens_per_month"),
                       (o.apiInputPrice, "api_price"), (o.apiOutputPrice, "api_output_price"),
                       (o.hardwareCost, "hardware_cost"), (o.hostingPerMonth, "hosting_per_month"),
                       (o.gpuHoursPerMonth, "gpu_hours_per_month"), (o.gpuPricePerHour ?? 0, "gpu_price"),
                       (o.powerPerMonth, "power_per_month"), (o.staffHoursPerMonth, "staff_hours_per_month"),
                       (o.staffRate, "staff_rate"), (o.setupCost, "setup_cost")] {
            try nonNegative(v, n)
        }
        try positive(o.amortizationMonths, "amortization_months")
        if o.months < 1 { throw LatheError("months must be a positive integer (got \(o.months))") }
        let tokens = o.inputTokensPerMonth + o.outputTokensPerMonth
        if tokens <= 0 { throw LatheError("missing the monthly volume: pass tokens_per_month (or input_tokens_per_month and output_tokens_per_month)") }
        let api = o.inputTokensPerMonth / 1e6 * o.apiInputPrice + o.outputTokensPerMonth / 1e6 * o.apiOutputPrice
        if api <= 0 { throw LatheError("missing the API price: pass api_price (USD per million tokens), or api_input_price and api_output_price") }
        var r = APIvsInHouse(apiPerMonth: api, hardwarePerMonth: o.hardwareCost / o.amortizationMonths,
                             hostingPerMonth: o.hostingPerMonth, gpuPerMonth: o.gpuHoursPerMonth * (try gpuPrice(o)),
                             powerPerMonth: o.powerPerMonth, staffPerMonth: o.staffHoursPerMonth * o.staffRate,
                             setupCost: o.setupCost, months: o.months, breakevenMonth: nil, tokensPerMonth: tokens)
        try finite(r.totalAPI - r.totalInHouse, "the API and in-house totals")
        let s = r.savingsPerMonth
        if s > 0 {
            let m = (o.setupCost / s).rounded(.up)
            // beyond a century the answer is "never" in any plan
            if m <= 1200 { r.breakevenMonth = max(1, Int(m)) }
        }
        return r
    }

    /// The price of an in-house GPU-hour: the one given, else the catalog's on-demand price.
    static func gpuPrice(_ o: APIvsInHouseOptions) throws(LatheError) -> Double {
        if let p = o.gpuPricePerHour { return p }
        if let g = o.gpu {
            guard let p = g.onDemand else { throw LatheError("GPU '\(g.name)' has no on-demand price in the catalog (pass gpu_price = USD per hour)") }
            return p
        }
        if o.gpuHoursPerMonth > 0 { throw LatheError("gpu_hours_per_month needs a price: pass gpu = \"L4\" (catalog price) or gpu_price = USD per hour") }
        return 0
    }

    // MARK: ROI, break-even, cost per metric point

    public struct ROI: Sendable {
        public var totalReturn: Double
        public var totalCost: Double
        public var roi: Double { (totalReturn - totalCost) / totalCost }
        public var net: Double { totalReturn - totalCost }
    }

    /// ROI = (total return - total cost) / total cost.
    public static func roi(totalReturn: Double, totalCost: Double) throws(LatheError) -> ROI {
        try nonNegative(totalReturn, "return")
        try positive(totalCost, "cost", "ROI divides by the total cost")
        let r = ROI(totalReturn: totalReturn, totalCost: totalCost)
        try finite(r.roi, "the ROI")
        return r
    }

    /// ROI from monthly figures over `months`: return = monthly return x months, cost =
    /// upfront + monthly cost x months.
    public static func roi(monthlyReturn: Double, monthlyCost: Double = 0, upfront: Double = 0,
                           months: Double) throws(LatheError) -> ROI {
        try positive(months, "months", "how many months of monthly_return and monthly_cost to count")
        try nonNegative(monthlyReturn, "monthly_return")
        try nonNegative(monthlyCost, "monthly_cost")
        try nonNegative(upfront, "upfront")
        return try roi(totalReturn: monthlyReturn * months, totalCost: upfront + monthlyCost * months)
    }

    public struct Breakeven: Sendable {
        public var upfront: Double
        public var netPerMonth: Double
        /// The first whole month where the cumulative net reaches the upfront cost (nil: never).
        public var month: Int?
        /// upfront / net per month (nil: never).
        public var exactMonths: Double?
        /// Cumulative net position at the end of each month (starts at -upfront).
        public var cumulative: [Double]
    }

    /// Months until (monthly return - monthly cost) x months covers the upfront cost.
    public static func breakeven(upfront: Double, monthlyReturn: Double, monthlyCost: Double = 0,
                                 horizon: Int? = nil) throws(LatheError) -> Breakeven {
        try nonNegative(upfront, "upfront")
        try nonNegative(monthlyReturn, "monthly_return")
        try nonNegative(monthlyCost, "monthly_cost")
        let net = monthlyReturn - monthlyCost
        var month: Int? = nil
        var exact: Double? = nil
        if net > 0 && upfront / net <= 1200 {
            exact = upfront / net
            month = max(upfront == 0 ? 0 : 1, Int((upfront / net).rounded(.up)))
        }
        let n = horizon ?? min(120, max(12, (month ?? 12) + 3))
        if n < 1 || n > 1200 { throw LatheError("months must be from 1 to 1200 (got \(n))") }
        var cum: [Double] = []
        for k in 1...n { cum.append(-upfront + net * Double(k)) }
        return Breakeven(upfront: upfront, netPerMonth: net, month: month, exactMonths: exact, cumulative: cum)
    }

    public struct MetricGain: Sendable {
        public var cost: Double
        public var baseline: Double
        public var score: Double
        public var scale: Double
        public var higherIsBetter: Bool
        public var metric: String
        /// Improvement in points (score - baseline, times scale; sign flipped when lower is better).
        public var gain: Double { (higherIsBetter ? score - baseline : baseline - score) * scale }
        public var costPerPoint: Double? { gain > 0 ? cost / gain : nil }
    }

    /// Dollars per point of improvement over the baseline. Scores in [0, 1] count in points
    /// of 1/100 (scale 100: F1 0.80 -> 0.86 is 6 points) unless a scale is given.
    public static func perMetricGain(cost: Double, baseline: Double, score: Double, scale: Double? = nil,
                                     higherIsBetter: Bool = true, metric: String = "metric") throws(LatheError) -> MetricGain {
        try nonNegative(cost, "cost")
        if !baseline.isFinite || !score.isFinite { throw LatheError("baseline and score must be numbers") }
        let sc = scale ?? ((0...1).contains(baseline) && (0...1).contains(score) ? 100 : 1)
        try positive(sc, "scale")
        let g = MetricGain(cost: cost, baseline: baseline, score: score, scale: sc, higherIsBetter: higherIsBetter, metric: metric)
        try finite(g.gain, "the gain")
        try finite(g.costPerPoint, "the cost per point")
        return g
    }

    // MARK: Budget

    public struct Phase: Sendable {
        public var name: String
        public var cost: Double
        public var weeks: Double
        /// Start week (1-based), or nil: after `after`, or after the previous phase.
        public var start: Double?
        public var after: [String]
        public var contingency: Double?
        public init(name: String, cost: Double, weeks: Double, start: Double? = nil, after: [String] = [], contingency: Double? = nil) {
            self.name = name
            self.cost = cost
            self.weeks = weeks
            self.start = start
            self.after = after
            self.contingency = contingency
        }

        /// The fields a phase is given by.
        public static let fields = ["name", "cost", "weeks", "after", "start", "contingency"]

        /// A phase from named fields (a JSON object or a Lua table); `index` (from 1) names it in errors.
        public init(from v: Value, index: Int) throws(LatheError) {
            guard case .object(let o) = v else { throw LatheError("phase \(index) is not a table {name = , cost = , weeks = }") }
            for key in o.keys.sorted() where !Phase.fields.contains(key) {
                throw LatheError("phase \(index): unknown field '\(key)' (expected \(Phase.fields.joined(separator: ", ")))")
            }
            guard case .string(let name)? = o["name"] else { throw LatheError("phase \(index): missing 'name' (a string)") }
            func number(_ key: String, _ missing: String?) throws(LatheError) -> Double? {
                switch o[key] {
                case .int(let i)?: return Double(i)
                case .double(let x)?: return x
                case nil, .null?:
                    if let missing { throw LatheError("phase '\(name)': missing '\(key)' (\(missing))") }
                    return nil
                default: throw LatheError("phase '\(name)': '\(key)' must be a number")
                }
            }
            var after: [String] = []
            switch o["after"] {
            case .string(let s)?: after = [s]
            case .array(let a)?:
                for x in a {
                    guard case .string(let s) = x else { throw LatheError("phase '\(name)': 'after' must name phases (strings)") }
                    after.append(s)
                }
            case nil, .null?: break
            default: throw LatheError("phase '\(name)': 'after' must be a phase name or a list of names")
            }
            self.init(name: name, cost: try number("cost", "USD") ?? 0, weeks: try number("weeks", "duration in weeks") ?? 0,
                      start: try number("start", nil), after: after, contingency: try number("contingency", nil))
        }
    }

    /// The contingency buffer of a phase that sets none: a fraction of its cost (0.10 to 0.20 is usual).
    public static let defaultContingency = 0.15

    public struct PlannedPhase: Sendable {
        public var name: String
        public var cost: Double
        public var contingencyRate: Double
        public var contingency: Double { cost * contingencyRate }
        public var total: Double { cost + contingency }
        /// Weeks from the project start (0-based) to the phase start / end.
        public var start: Double
        public var weeks: Double
        public var end: Double { start + weeks }
    }

    public struct Budget: Sendable {
        public var phases: [PlannedPhase]
        public var subtotal: Double { phases.reduce(0) { $0 + $1.cost } }
        public var contingency: Double { phases.reduce(0) { $0 + $1.contingency } }
        public var total: Double { subtotal + contingency }
        public var weeks: Double { phases.map { $0.end }.max() ?? 0 }
        public var defaultContingency: Double
    }

    /// Schedules the phases (in order, each after the previous unless it names `after` phases
    /// or a `start` week) and adds the contingency buffer (a fraction of each phase's cost).
    public static func budget(_ phases: [Phase], contingency: Double = defaultContingency) throws(LatheError) -> Budget {
        if phases.isEmpty { throw LatheError("phases is empty (pass phases such as {name = \"training\", cost = 2000, weeks = 2})") }
        if !(contingency >= 0 && contingency <= 1) {
            throw LatheError("contingency must be a fraction from 0 to 1 (got \(formatNumber(contingency)); 0.10 to 0.20 is usual)")
        }
        var out: [PlannedPhase] = []
        var seen: [String: Double] = [:]
        var prevEnd = 0.0
        for (k, p) in phases.enumerated() {
            let label = p.name.isEmpty ? "phase \(k + 1)" : "phase '\(p.name)'"
            if p.name.isEmpty { throw LatheError("phase \(k + 1) has no name") }
            if seen[p.name] != nil { throw LatheError("two phases are named '\(p.name)'") }
            try nonNegative(p.cost, "\(label): cost")
            try positive(p.weeks, "\(label): weeks")
            if p.weeks > 5200 { throw LatheError("\(label): weeks must be at most 5200 (100 years; got \(formatNumber(p.weeks)))") }
            let rate = p.contingency ?? contingency
            if !(rate >= 0 && rate <= 1) { throw LatheError("\(label): contingency must be a fraction from 0 to 1 (got \(formatNumber(rate)))") }
            var start: Double
            if let s = p.start {
                if !(s >= 1 && s <= 5200) { throw LatheError("\(label): start must be a week number from 1 to 5200 (got \(formatNumber(s)))") }
                start = s - 1
            } else if !p.after.isEmpty {
                start = 0
                for dep in p.after {
                    guard let e = seen[dep] else {
                        throw LatheError("\(label) comes after '\(dep)', which is not an earlier phase (known: \(out.map { $0.name }.joined(separator: ", ")))")
                    }
                    start = max(start, e)
                }
            } else {
                start = prevEnd
            }
            let pp = PlannedPhase(name: p.name, cost: p.cost, contingencyRate: rate, start: start, weeks: p.weeks)
            out.append(pp)
            seen[p.name] = pp.end
            prevEnd = pp.end
        }
        let b = Budget(phases: out, defaultContingency: contingency)
        try finite(b.total, "the budget total")
        return b
    }

    /// A text Gantt chart: one row per phase, one column per week (or per several weeks for
    /// long projects), '#' where the phase runs.
    public static func gantt(_ b: Budget, maxColumns: Int = 52) -> String {
        let total = max(1, Int(b.weeks.rounded(.up)))
        let per = max(1, Int((Double(total) / Double(maxColumns)).rounded(.up)))
        let cols = (total + per - 1) / per
        let nameW = max(5, b.phases.map { $0.name.count }.max() ?? 5)
        func weeksLabel(_ p: PlannedPhase) -> String {
            let s = Int(p.start.rounded(.down)) + 1
            let e = Int(p.end.rounded(.up))
            return s == e ? "w\(s)" : "w\(s)-\(e)"
        }
        let spanW = max(5, b.phases.map { weeksLabel($0).count }.max() ?? 5)
        var axis = ""
        var k = 0
        while k < cols {
            let week = k * per + 1
            if k == 0 || week % (per == 1 ? 5 : 5 * per) == 0 || (per > 1 && k % 5 == 0) {
                let s = String(week)
                if axis.count <= k { axis += String(repeating: " ", count: k - axis.count) + s }
            }
            k += 1
        }
        if axis.count > cols + 4 { axis = String(axis.prefix(cols + 4)) }
        var lines: [String] = []
        let unit = per == 1 ? "week" : "\(per) weeks"
        lines.append("phase".padding(toLength: nameW, withPad: " ", startingAt: 0) + "  " +
                     "weeks".padding(toLength: spanW, withPad: " ", startingAt: 0) + "  |" + axis)
        for p in b.phases {
            var bar = ""
            for c in 0..<cols {
                let lo = Double(c * per), hi = Double((c + 1) * per)
                bar += (p.start < hi && p.end > lo) ? "#" : "."
            }
            lines.append(p.name.padding(toLength: nameW, withPad: " ", startingAt: 0) + "  " +
                         weeksLabel(p).padding(toLength: spanW, withPad: " ", startingAt: 0) + "  |" + bar)
        }
        lines.append(String(repeating: " ", count: nameW + spanW + 4) + "one column = \(unit); total \(formatNumber(b.weeks)) weeks")
        return lines.joined(separator: "\n")
    }
}

// MARK: - Reports

extension Cost.CloudCost {
    public func report() -> Cost.Report {
        var rows: [[String]] = []
        if let c = computeOnDemand, let p = onDemandPrice {
            rows.append(["compute, on demand", Cost.formatMoney(c), "\(Cost.formatNumber(options.hours)) h x \(options.gpus) GPU x \(Cost.formatMoney(p))/h"])
        }
        if let c = computeSpot, let p = spotPrice {
            rows.append(["compute, spot", Cost.formatMoney(c), "\(Cost.formatNumber((spotHours * 100).rounded() / 100)) h (+\(Cost.formatPercent(options.interruptionOverhead)) interruptions) x \(options.gpus) GPU x \(Cost.formatMoney(p))/h"])
        }
        rows.append(["storage", Cost.formatMoney(storage), "\(Cost.formatNumber(options.storageGB)) GB x \(Cost.formatMoney(options.storagePricePerGBMonth))/GB-month x \(Cost.formatNumber(options.storageMonths)) months"])
        rows.append(["transfer", Cost.formatMoney(transfer), "\(Cost.formatNumber(options.transferGB)) GB x \(Cost.formatMoney(options.transferPricePerGB))/GB"])
        if let t = totalOnDemand { rows.append(["total, on demand", Cost.formatMoney(t), ""]) }
        if let t = totalSpot { rows.append(["total, spot", Cost.formatMoney(t), ""]) }
        if let s = savings { rows.append(["spot saves", Cost.formatMoney(s), ""]) }
        var notes: [String] = []
        if !gpu.priceSource.isEmpty { notes.append("Prices: \(gpu.priceSource)\(gpu.date.isEmpty ? "" : " (\(gpu.date))"). Prices change: check before you commit.") }
        return Cost.Report(title: "cost.cloud: \(options.gpus) x \(gpu.name), \(Cost.formatNumber(options.hours)) h",
                           header: ["item", "USD", "how"], rows: rows, numeric: [1], notes: notes)
    }
}

extension Cost.APIvsInHouse {
    public func report() -> Cost.Report {
        var rows: [[String]] = [
            ["API per month", Cost.formatMoney(apiPerMonth), "\(Cost.formatNumber(tokensPerMonth)) tokens"],
            ["in-house per month", Cost.formatMoney(inHousePerMonth), "hardware + hosting + GPU + power + staff"],
        ]
        if hardwarePerMonth > 0 { rows.append(["  hardware", Cost.formatMoney(hardwarePerMonth), "amortized"]) }
        if hostingPerMonth > 0 { rows.append(["  hosting", Cost.formatMoney(hostingPerMonth), ""]) }
        if gpuPerMonth > 0 { rows.append(["  GPU hours", Cost.formatMoney(gpuPerMonth), ""]) }
        if powerPerMonth > 0 { rows.append(["  power", Cost.formatMoney(powerPerMonth), ""]) }
        if staffPerMonth > 0 { rows.append(["  staff", Cost.formatMoney(staffPerMonth), ""]) }
        rows.append(["savings per month", Cost.formatMoney(savingsPerMonth), "API - in-house"])
        rows.append(["setup (one-off)", Cost.formatMoney(setupCost), ""])
        rows.append(["API over \(months) months", Cost.formatMoney(totalAPI), ""])
        rows.append(["in-house over \(months) months", Cost.formatMoney(totalInHouse), "setup + monthly x months"])
        rows.append(["break-even month", breakevenMonth.map { String($0) } ?? "never", "first m with m x API >= setup + m x in-house"])
        if let r = roi { rows.append(["ROI of in-house", Cost.formatPercent(r), "(API avoided - in-house) / in-house"]) }
        return Cost.Report(title: "cost.api_vs_inhouse: \(cheaper == "api" ? "the API is cheaper" : "in-house is cheaper") over \(months) months",
                           header: ["item", "USD", "how"], rows: rows, numeric: [1])
    }
}

extension Cost.ROI {
    public func report() -> Cost.Report {
        Cost.Report(title: "cost.roi: \(Cost.formatPercent(roi))",
                    header: ["item", "value", "how"],
                    rows: [["total return", Cost.formatMoney(totalReturn), ""], ["total cost", Cost.formatMoney(totalCost), ""],
                           ["net", Cost.formatMoney(net), "return - cost"], ["ROI", Cost.formatPercent(roi), "(return - cost) / cost"]],
                    numeric: [1])
    }
}

extension Cost.Breakeven {
    public func report() -> Cost.Report {
        var rows: [[String]] = [
            ["upfront", Cost.formatMoney(upfront), ""],
            ["net per month", Cost.formatMoney(netPerMonth), "return - cost"],
            ["break-even month", month.map { String($0) } ?? "never", exactMonths.map { "upfront / net = \(Cost.formatNumber(($0 * 100).rounded() / 100)) months" } ?? (netPerMonth > 0 ? "more than 1,200 months" : "the net per month is not positive")],
        ]
        let show = min(cumulative.count, 24)
        for k in 0..<show { rows.append(["  month \(k + 1)", Cost.formatMoney(cumulative[k]), "cumulative"]) }
        return Cost.Report(title: "cost.breakeven: " + (month.map { "month \($0)" } ?? "never"),
                           header: ["item", "USD", "how"], rows: rows, numeric: [1])
    }
}

extension Cost.MetricGain {
    public func report() -> Cost.Report {
        Cost.Report(title: "cost.per_metric_gain: " + (costPerPoint.map { Cost.formatMoney($0) + " per \(metric) point" } ?? "no gain"),
                    header: ["item", "value", "how"],
                    rows: [["baseline", Cost.formatNumber(baseline), metric], ["score", Cost.formatNumber(score), metric],
                           ["gain", Cost.formatNumber((gain * 1e6).rounded() / 1e6) + " points", "(score - baseline) x \(Cost.formatNumber(scale))"],
                           ["cost", Cost.formatMoney(cost), ""],
                           ["cost per point", costPerPoint.map { Cost.formatMoney($0) } ?? "n/a", "cost / gain"]],
                    numeric: [1])
    }
}

extension Cost.Budget {
    public func report() -> Cost.Report {
        var rows: [[String]] = phases.map {
            [$0.name, Cost.formatMoney($0.cost), Cost.formatPercent($0.contingencyRate), Cost.formatMoney($0.contingency),
             Cost.formatMoney($0.total), Cost.formatNumber($0.weeks)]
        }
        rows.append(["total", Cost.formatMoney(subtotal), "", Cost.formatMoney(contingency), Cost.formatMoney(total), Cost.formatNumber(weeks)])
        var r = Cost.Report(title: "cost.budget: \(Cost.formatMoney(total)) over \(Cost.formatNumber(weeks)) weeks",
                            header: ["phase", "cost", "buffer", "contingency", "total", "weeks"],
                            rows: rows, numeric: [1, 2, 3, 4, 5], chart: Cost.gantt(self))
        r.textHeader = true
        return r
    }
}
