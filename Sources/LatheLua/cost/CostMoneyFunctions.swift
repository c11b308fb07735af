import LatheCore

/// The `cost` module's money and planning functions: projections, cloud cost, API against
/// in-house, ROI, break-even, cost per metric point, budgets.
enum CostMoneyFunctions {
    typealias R = CostReaders

    static let project = LuaFunc("project", "Projects time and cost for a larger run from Lathe's own measured tokens/s on this machine.",
        options: [
            R.amount("measured_tokens_per_sec", above: true, "the tokens per second a Lathe run measured on this machine (required)"),
            R.amount("tokens", above: true, "the tokens per epoch of the run to project (required)"),
            R.amount("epochs", above: true, default: 1, "passes over the tokens"),
            R.amount("price_per_hour", default: 0, "what an hour of this machine costs (USD)"),
            R.amount("measured_params", above: true, "parameters of the model you timed (with params)"),
            R.amount("params", above: true, "parameters of the model you plan: the speed scales by measured_params / params (6N FLOPs per token)"),
            R.amount("overhead", default: 0, "extra time for evaluation and checkpoints, a fraction (0.1 = 10%)"),
        ], tableCall: true,
        returns: "{tokens_per_sec=, seconds=, hours=, days=, cost=, tokens=}", details: "seconds = tokens x epochs / speed x (1 + overhead).",
        errors: "a missing speed or token count; only one of measured_params and params.",
        example: """
            local p = cost.project{measured_tokens_per_sec = 20, tokens = 5e6, epochs = 2, price_per_hour = 0.10}
            print(p)
            print(p.hours, p.cost)
            """
    ) { c in
        let o = try c.opts()
        let p = try Cost.project(measuredTokensPerSecond: try R.required(o, "measured_tokens_per_sec"), tokens: try R.required(o, "tokens"),
                                 epochs: try o.number("epochs"), pricePerHour: try o.number("price_per_hour"),
                                 measuredParams: try o.numberIfGiven("measured_params"), targetParams: try o.numberIfGiven("params"),
                                 overhead: try o.number("overhead"))
        return try R.push(c, "Projection", p.report(), [("tokens_per_sec", .number(p.tokensPerSecond)), ("seconds", .number(p.seconds)),
            ("hours", .number(p.hours)), ("days", .number(p.days)), ("cost", .number(p.cost)), ("tokens", .number(p.tokens))])
    }

    static let cloudFields: [CostField<Cost.CloudOptions>] = [
        .int("gpus", \.gpus, "GPUs the job runs on"),
        .bool("spot", \.spot, "`total` is the spot total"),
        .number("interruption_overhead", \.interruptionOverhead, "extra spot time to redo work lost to preemptions (a fraction)"),
        .number("on_demand_price", \.onDemandPrice, kind: .number(min: 0, above: true), "the catalog's", "USD per GPU-hour on demand"),
        .number("spot_price", \.spotPrice, kind: .number(min: 0, above: true), "the catalog's", "USD per GPU-hour on spot"),
        .number("storage_gb", \.storageGB, "GB stored"),
        .number("storage_price", \.storagePricePerGBMonth, "USD per GB-month (0.10 is block storage)"),
        .number("storage_months", \.storageMonths, "months stored"),
        .number("transfer_gb", \.transferGB, "GB transferred out"),
        .number("transfer_price", \.transferPricePerGB, "USD per GB (0.09 is typical internet egress)"),
    ]
    static let cloud = LuaFunc("cloud", "Cloud cost of a training job: on-demand vs spot (with an interruption overhead), storage and transfer.",
        options: [
            R.amount("hours", above: true, "the job's wall-clock hours, e.g. cost.train_time(...).hours (required)"),
            LuaOpt("gpu", .either([.string, .table]), .none,
                   "a GPU name from cost.catalog(), e.g. \"A100 80GB\", or a table {name=, memory_gb=, bf16_tflops=, bandwidth_gbs=, on_demand_usd_hr=} (required)"),
        ] + cloudFields.opts(), tableCall: true,
        returns: "{compute_on_demand=, compute_spot=, spot_hours=, storage=, transfer=, total_on_demand=, total_spot=, savings=, total=}: USD",
        details: """
            compute = hours x gpus x price per GPU-hour; spot runs (1 + interruption_overhead) times longer; storage = GB x USD per
            GB-month x months; transfer = GB x USD per GB. Both totals are computed when both prices are known.
            """,
        errors: "missing hours or gpu; a GPU without the needed price (pass on_demand_price or spot_price).",
        example: """
            local c = cost.cloud{hours = 12, gpu = "A100 80GB", gpus = 2, storage_gb = 200}
            print(c)
            print(c.total_spot < c.total_on_demand)
            """
    ) { c in
        let o = try c.opts()
        var co = Cost.CloudOptions(hours: try R.required(o, "hours"))
        guard try o.has("gpu") else { throw try R.missing(o, "gpu") }
        let gpu = try R.gpu(c, try o.value("gpu"), "option 'gpu'")
        try cloudFields.read(o, into: &co)
        let r = try Cost.cloud(gpu: gpu, co)
        return try R.push(c, "CloudCost", r.report(), [
            ("compute_on_demand", R.opt(r.computeOnDemand)), ("compute_spot", R.opt(r.computeSpot)), ("spot_hours", .number(r.spotHours)),
            ("storage", .number(r.storage)), ("transfer", .number(r.transfer)), ("total_on_demand", R.opt(r.totalOnDemand)),
            ("total_spot", R.opt(r.totalSpot)), ("savings", R.opt(r.savings)), ("total", .number(r.total))])
    }

    static let apiFields: [CostField<Cost.APIvsInHouseOptions>] = [
        .number("input_tokens_per_month", \.inputTokensPerMonth, "input tokens per month, priced at api_input_price"),
        .number("output_tokens_per_month", \.outputTokensPerMonth, "output tokens per month, priced at api_output_price"),
        .number("api_input_price", \.apiInputPrice, "USD per million input tokens"),
        .number("api_output_price", \.apiOutputPrice, "USD per million output tokens"),
        .number("hardware_cost", \.hardwareCost, "hardware bought (USD), spread over amortization_months"),
        .number("amortization_months", \.amortizationMonths, kind: .number(min: 0, above: true), "months the hardware is paid off over"),
        .number("hosting_per_month", \.hostingPerMonth, "USD per month"),
        .number("gpu_hours_per_month", \.gpuHoursPerMonth, "rented GPU-hours per month"),
        .number("gpu_price", \.gpuPricePerHour, "the gpu's on-demand price", "USD per GPU-hour"),
        .number("power_per_month", \.powerPerMonth, "USD per month"),
        .number("staff_hours_per_month", \.staffHoursPerMonth, "hours of upkeep per month"),
        .number("staff_rate", \.staffRate, "USD per staff hour"),
        .number("setup_cost", \.setupCost, "one-off cost of going in-house (fine-tuning, engineering)"),
        .int("months", \.months, "the horizon of the totals and the ROI"),
    ]
    static let apiVsInHouse = LuaFunc("api_vs_inhouse", "Pay-per-token API against running your own model: monthly costs, break-even month, ROI.",
        options: [
            R.amount("tokens_per_month", "tokens sent to the API per month (or input_ and output_tokens_per_month)"),
            R.amount("api_price", "USD per million tokens, input and output (or api_input_price and api_output_price)"),
            LuaOpt("gpu", .either([.string, .table]), .none, "a GPU whose on-demand catalog price prices gpu_hours_per_month"),
        ] + apiFields.opts(), tableCall: true,
        returns: """
            {api_per_month=, inhouse_per_month=, savings_per_month=, setup_cost=, breakeven_month=, total_api=, total_inhouse=, roi=, cheaper=, \
            api_per_million=, inhouse_per_million=, months=}
            """,
        details: """
            API per month = tokens / 1e6 x price per million. In-house per month = hardware_cost / amortization_months + hosting + GPU
            hours x price + power + staff hours x rate. break-even month = the first month m with m x API >= setup + m x in-house; nil
            when in-house never catches up. ROI of going in-house over `months` = (API spend avoided - in-house cost) / in-house cost.
            """,
        errors: "no token volume or no API price (the message says which field to pass); GPU hours without a price.",
        example: """
            local r = cost.api_vs_inhouse{tokens_per_month = 200e6, api_price = 5,
              gpu = "L4", gpu_hours_per_month = 730, staff_hours_per_month = 4, staff_rate = 80,
              setup_cost = 3000, months = 24}
            print(r)
            print(r.cheaper, r.breakeven_month)
            """
    ) { c in
        let o = try c.opts()
        if try o.has("tokens_per_month") && o.has("input_tokens_per_month") { throw LuaError("pass tokens_per_month or input_tokens_per_month, not both") }
        var a = Cost.APIvsInHouseOptions()
        try apiFields.read(o, into: &a)
        a.inputTokensPerMonth = try o.numberIfGiven("tokens_per_month") ?? a.inputTokensPerMonth
        if let price = try o.numberIfGiven("api_price") {
            a.apiInputPrice = price
            if try !o.has("api_output_price") { a.apiOutputPrice = price }
        }
        a.gpu = try o.has("gpu") ? R.gpu(c, try o.value("gpu"), "option 'gpu'") : nil
        let r = try Cost.apiVsInHouse(a)
        return try R.push(c, "APIvsInHouse", r.report(), [
            ("api_per_month", .number(r.apiPerMonth)), ("inhouse_per_month", .number(r.inHousePerMonth)), ("savings_per_month", .number(r.savingsPerMonth)),
            ("setup_cost", .number(r.setupCost)), ("breakeven_month", R.opt(r.breakevenMonth)), ("total_api", .number(r.totalAPI)),
            ("total_inhouse", .number(r.totalInHouse)), ("roi", R.opt(r.roi)), ("cheaper", .string(r.cheaper)),
            ("api_per_million", R.opt(r.apiPerMillion)), ("inhouse_per_million", R.opt(r.inHousePerMillion)), ("months", .int(r.months))])
    }

    static let roi = LuaFunc("roi", "Return on investment: (total return - total cost) / total cost.",
        options: [
            R.amount("total_return", "what the project brings in (USD); or pass monthly_return and months"),
            R.amount("total_cost", above: true, "everything the project costs (USD)"),
            R.amount("monthly_return", "what it brings in per month: total return = monthly_return x months"),
            R.amount("monthly_cost", default: 0, "what it costs per month: total cost = upfront + monthly_cost x months"),
            R.amount("upfront", default: 0, "one-off cost, with monthly_return"),
            R.amount("months", above: true, "how many months of monthly_return and monthly_cost to count"),
        ], tableCall: true,
        returns: "{roi=, roi_percent=, net=, total_return=, total_cost=}",
        errors: "a missing field (the message names it); total_return together with monthly_return.",
        example: """
            print(cost.roi{total_return = 150000, total_cost = 100000}.roi)   --> 0.5
            local r = cost.roi{monthly_return = 4000, monthly_cost = 500, upfront = 20000, months = 12}
            print(r)
            """
    ) { c in
        let o = try c.opts()
        let r: Cost.ROI
        if let monthly = try o.numberIfGiven("monthly_return") {
            if try o.has("total_return") { throw LuaError("pass total_return or monthly_return, not both") }
            r = try Cost.roi(monthlyReturn: monthly, monthlyCost: try o.number("monthly_cost"), upfront: try o.number("upfront"),
                             months: try R.required(o, "months"))
        } else {
            r = try Cost.roi(totalReturn: try R.required(o, "total_return"), totalCost: try R.required(o, "total_cost"))
        }
        return try R.push(c, "ROI", r.report(), [("roi", .number(r.roi)), ("roi_percent", .number(r.roi * 100)), ("net", .number(r.net)),
                                                 ("total_return", .number(r.totalReturn)), ("total_cost", .number(r.totalCost))])
    }

    static let breakeven = LuaFunc("breakeven", "The month an upfront investment pays back from a monthly net return.",
        options: [
            R.amount("upfront", "the one-off cost to pay back (required)"),
            R.amount("monthly_return", "what the investment brings in or saves each month (required)"),
            R.amount("monthly_cost", default: 0, "what it costs each month"),
            LuaOpt("months", .integer(1...1200), .computed("a few past break-even, at least 12"), "months listed in cumulative"),
        ], tableCall: true,
        returns: "{month=, months_exact=, net_per_month=, upfront=, cumulative = {...}}",
        details: """
            net per month = monthly_return - monthly_cost; break-even month = ceil(upfront / net), the first whole month whose
            cumulative net covers the upfront cost (nil when the net is not positive). cumulative[m] is the position after month m.
            """,
        errors: "a missing upfront or monthly_return.",
        example: """
            local b = cost.breakeven{upfront = 12000, monthly_return = 3000, monthly_cost = 1000}
            print(b.month, b.cumulative[6])   --> 6  0.0
            print(b)
            """
    ) { c in
        let o = try c.opts()
        let b = try Cost.breakeven(upfront: try R.required(o, "upfront"), monthlyReturn: try R.required(o, "monthly_return"),
                                   monthlyCost: try o.number("monthly_cost"), horizon: try o.intIfGiven("months"))
        return try R.push(c, "Breakeven", b.report(), [("month", R.opt(b.month)), ("months_exact", R.opt(b.exactMonths)),
            ("net_per_month", .number(b.netPerMonth)), ("upfront", .number(b.upfront)), ("cumulative", .numbers(b.cumulative))])
    }

    static let perMetricGain = LuaFunc("per_metric_gain", "Dollars per point of metric gain over the baseline (e.g. per F1 point).",
        options: [
            R.amount("cost", "what the improvement cost (required)"),
            LuaOpt("baseline", .number(), .none, "the metric before: the current model or a simple baseline (required)"),
            LuaOpt("score", .number(), .none, "the metric after fine-tuning (required)"),
            LuaOpt("scale", .number(min: 0, above: true), .computed("100 when both scores are in [0, 1], else 1"), "points per unit of the metric"),
            LuaOpt("metric", .string, .string("metric"), "the metric's name in the report"),
            LuaOpt("lower_is_better", .boolean, .bool(false), "a metric such as perplexity: the gain is baseline - score"),
        ], tableCall: true,
        returns: "{cost_per_point=, gain=, cost=, baseline=, score=, scale=}",
        details: "gain = (score - baseline) x scale points (F1 0.80 -> 0.86 is 6 points); cost_per_point = cost / gain, nil without a gain.",
        errors: "a missing cost, baseline or score.",
        example: """
            local g = cost.per_metric_gain{cost = 1200, baseline = 0.80, score = 0.86, metric = "F1"}
            print(g.gain, g.cost_per_point)   --> 6.0  200.0
            print(g)
            """
    ) { c in
        let o = try c.opts()
        let g = try Cost.perMetricGain(cost: try R.required(o, "cost"), baseline: try R.required(o, "baseline"), score: try R.required(o, "score"),
                                       scale: try o.numberIfGiven("scale"), higherIsBetter: !(try o.bool("lower_is_better")), metric: try o.string("metric"))
        return try R.push(c, "MetricGain", g.report(), [("cost_per_point", R.opt(g.costPerPoint)), ("gain", .number(g.gain)),
            ("cost", .number(g.cost)), ("baseline", .number(g.baseline)), ("score", .number(g.score)), ("scale", .number(g.scale))])
    }

    static let budget = LuaFunc("budget", "A project budget by phase with contingency buffers and a timeline that prints as a text Gantt chart.",
        params: [LuaParam("phases", .table, "an array of {name = , cost = (USD), weeks = , after = name or {names}, start = week, contingency = fraction}")],
        options: [LuaOpt("contingency", .number(min: 0, max: 1), .number(Cost.defaultContingency),
                         "buffer of each phase that sets none, a fraction of its cost (0.10 to 0.20 is usual)")],
        returns: "{phases = {{name=, cost=, contingency=, total=, start_week=, end_week=, weeks=}, ...}, subtotal=, contingency=, total=, weeks=, gantt = text}",
        details: """
            Phases run one after another unless a phase says `after` (it starts when those end) or `start` (a week number from 1).
            The Gantt chart has one column per week ('#' = the phase runs); long projects use several weeks per column.
            """,
        errors: "an empty list; a phase without name, cost or weeks; negative cost; zero weeks; `after` naming an unknown or later phase.",
        example: """
            local b = cost.budget({
              {name = "data collection", cost = 4000, weeks = 3},
              {name = "preparation",     cost = 2000, weeks = 2},
              {name = "training",        cost = 3000, weeks = 2},
              {name = "evaluation",      cost = 1000, weeks = 1},
              {name = "deployment",      cost = 2000, weeks = 2, after = "training"},
            }, {contingency = 0.15})
            print(b)
            print(b.total, b.weeks)
            """
    ) { c in
        let o = try c.opts()
        var phases: [Cost.Phase] = []
        if case .array(let items) = try c.value(1) {
            phases = try items.enumerated().map { k, v in try Cost.Phase(from: R.value(v), index: k + 1) }
        }
        let b = try Cost.budget(phases, contingency: try o.number("contingency"))
        let rows: [LuaValue] = b.phases.map { p in
            .record([("name", .string(p.name)), ("cost", .number(p.cost)), ("contingency", .number(p.contingency)), ("total", .number(p.total)),
                     ("start_week", .number(p.start + 1)), ("end_week", .number(p.end)), ("weeks", .number(p.weeks))])
        }
        return try R.push(c, "Budget", b.report(), [("phases", .array(rows)), ("subtotal", .number(b.subtotal)), ("contingency", .number(b.contingency)),
                                                    ("total", .number(b.total)), ("weeks", .number(b.weeks)), ("gantt", .string(Cost.gantt(b)))])
    }
}
