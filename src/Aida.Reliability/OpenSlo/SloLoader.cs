using System.Globalization;
using Aida.Model.Config;

namespace Aida.Reliability.OpenSlo;

/// <summary>Reads OpenSLO v1 files (<c>apiVersion: openslo/v1</c>; kinds <c>Service</c>, <c>SLI</c>, <c>SLO</c>,
/// <c>AlertPolicy</c>, <c>AlertCondition</c>, <c>AlertNotificationTarget</c>, <c>DataSource</c>), several documents per
/// file, and resolves the references between them.</summary>
/// <remarks>Every problem is a <see cref="ConfigException"/> reading <c>file:line: field: problem</c>: malformed YAML,
/// unknown kinds and fields, a target outside (0, 1), a window that is not a duration, a query that does not parse, a
/// reference to nothing. Aida reads one objective per SLO.</remarks>
public static class SloLoader
{
    private const string ApiVersion = "openslo/v1";

    private static readonly Dictionary<string, ThresholdOperator> Operators = new()
    {
        ["lt"] = ThresholdOperator.LessThan,
        ["lte"] = ThresholdOperator.LessThanOrEqual,
        ["gt"] = ThresholdOperator.GreaterThan,
        ["gte"] = ThresholdOperator.GreaterThanOrEqual,
    };

    /// <summary>Loads and resolves the files; paths are reported as given.</summary>
    public static SloSet Load(IEnumerable<string> files)
    {
        var documents = new List<ConfigNode>();
        foreach (var file in files)
        {
            documents.AddRange(ConfigNode.LoadDocuments(file));
        }

        return Resolve(documents);
    }

    /// <summary>Loads OpenSLO text; <paramref name="file"/> is only used in messages.</summary>
    public static SloSet Parse(string text, string file) => Resolve(ConfigNode.ParseDocuments(text, file));

    private static SloSet Resolve(IReadOnlyList<ConfigNode> documents)
    {
        var reader = new DocumentReader();
        foreach (var document in documents)
        {
            reader.Read(document);
        }

        return reader.Build();
    }

    private sealed class DocumentReader
    {
        private readonly Dictionary<string, (string Kind, ConfigNode Node)> _names = new(StringComparer.Ordinal);
        private readonly List<SloService> _services = [];
        private readonly List<DataSourceDefinition> _dataSources = [];
        private readonly Dictionary<string, NotificationTarget> _targets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SliDefinition> _slis = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ConfigNode> _conditionNodes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ConfigNode> _policyNodes = new(StringComparer.Ordinal);
        private readonly List<ConfigNode> _sloNodes = [];
        private readonly Dictionary<string, BurnRateCondition> _conditions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, AlertPolicyDefinition> _policies = new(StringComparer.Ordinal);

        public void Read(ConfigNode document)
        {
            var version = document.String("apiVersion");
            if (version != ApiVersion)
            {
                throw document.Required("apiVersion").Error($"'{version}' is not supported (expected {ApiVersion})");
            }

            var kind = document.String("kind");
            var metadata = document.Required("metadata");
            var name = Name(metadata);
            var spec = document.Required("spec");
            document.RejectUnknown();
            _ = DisplayName(metadata);
            if (!_names.TryAdd(kind + "/" + name, (kind, metadata)))
            {
                throw metadata.Error("name", $"{kind} '{name}' is defined twice (first at {_names[kind + "/" + name].Node.File}:{_names[kind + "/" + name].Node.Line})");
            }

            switch (kind)
            {
                case "Service":
                    _services.Add(new SloService(name, DisplayName(metadata), spec.OptionalString("description"), Where(document)));
                    spec.RejectUnknown();
                    break;
                case "DataSource":
                    _dataSources.Add(ReadDataSource(name, spec, document));
                    break;
                case "AlertNotificationTarget":
                    _targets[name] = ReadTarget(name, spec, document);
                    break;
                case "SLI":
                    _slis[name] = ReadSli(name, spec, document);
                    break;
                case "AlertCondition":
                    _conditionNodes[name] = spec;
                    break;
                case "AlertPolicy":
                    _policyNodes[name] = spec;
                    break;
                case "SLO":
                    _sloNodes.Add(document);
                    break;
                default:
                    throw document.Required("kind").Error(
                        $"unknown kind '{kind}' (expected one of: Service, SLI, SLO, AlertPolicy, AlertCondition, AlertNotificationTarget, DataSource)");
            }
        }

        public SloSet Build()
        {
            foreach (var (name, spec) in _conditionNodes)
            {
                _conditions[name] = ReadCondition(name, spec);
            }

            foreach (var (name, spec) in _policyNodes)
            {
                _policies[name] = ReadPolicy(name, spec);
            }

            var slos = new List<SloDefinition>();
            foreach (var node in _sloNodes)
            {
                slos.Add(ReadSlo(node));
            }

            return new SloSet(slos, _services, _slis.Values.ToList(), _policies.Values.ToList(), _targets.Values.ToList(), _dataSources);
        }

        private static string Name(ConfigNode metadata)
        {
            var name = metadata.String("name");
            if (name.Length == 0 || name.Length > 63 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
                || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
            {
                throw metadata.Required("name").Error($"'{name}' is not a valid name (lower-case letters, digits, '-' and '.', at most 63, as Kubernetes names)");
            }

            return name;
        }

        private static string? DisplayName(ConfigNode metadata)
        {
            metadata.Optional("name");
            var display = metadata.OptionalString("displayName");
            ReadMap(metadata.Optional("labels"));
            ReadMap(metadata.Optional("annotations"));
            metadata.RejectUnknown();
            return display;
        }

        private static Dictionary<string, string> ReadMap(ConfigNode? node)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            if (node is null)
            {
                return map;
            }

            foreach (var key in node.Keys)
            {
                // OpenSLO labels may be a value or a list of values; both read as text here.
                map[key] = IsList(node, key) ? string.Join(",", node.List(key).Select(v => v.Scalar())) : node.Required(key).Scalar();
            }

            return map;
        }

        private static bool IsList(ConfigNode parent, string key)
        {
            try
            {
                parent.List(key);
                return true;
            }
            catch (ConfigException)
            {
                return false;
            }
        }

        private static SourceLocation Where(ConfigNode node) => new(node.File, node.Line);

        private static DataSourceDefinition ReadDataSource(string name, ConfigNode spec, ConfigNode document)
        {
            _ = DisplayName(document.Required("metadata"));
            spec.OptionalString("description");
            var type = spec.String("type");
            var details = new Dictionary<string, string>(StringComparer.Ordinal);
            if (spec.Optional("connectionDetails") is { } c)
            {
                foreach (var key in c.Keys)
                {
                    details[key] = c.Required(key).Scalar();
                }
            }

            spec.RejectUnknown();
            return new DataSourceDefinition(name, type, details, Where(document));
        }

        private static NotificationTarget ReadTarget(string name, ConfigNode spec, ConfigNode document)
        {
            _ = DisplayName(document.Required("metadata"));
            var target = new NotificationTarget(name, spec.String("target"), spec.OptionalString("description"), Where(document));
            spec.RejectUnknown();
            return target;
        }

        private SliDefinition ReadSli(string name, ConfigNode spec, ConfigNode where)
        {
            var description = spec.OptionalString("description");
            var ratio = spec.Optional("ratioMetric");
            var threshold = spec.Optional("thresholdMetric");
            spec.RejectUnknown();
            if ((ratio is null) == (threshold is null))
            {
                throw spec.Error("needs exactly one of ratioMetric and thresholdMetric");
            }

            if (threshold is not null)
            {
                var metric = ReadMetricSource(threshold, needsSelector: false);
                threshold.RejectUnknown();
                return new SliDefinition(name, description, null, new ThresholdMetric(metric), Where(where));
            }

            var counter = ratio!.Boolean("counter", true);
            if (ratio.Has("raw") || ratio.Has("rawType"))
            {
                throw ratio.Error("raw", "raw ratio metrics are not supported: give good or bad, and total");
            }

            var good = ratio.Optional("good") is { } g ? ReadSource(g) : null;
            var bad = ratio.Optional("bad") is { } b ? ReadSource(b) : null;
            var total = ReadSource(ratio.Required("total"));
            ratio.RejectUnknown();
            if ((good is null) == (bad is null))
            {
                throw ratio.Error("needs exactly one of good and bad, beside total");
            }

            return new SliDefinition(name, description, new RatioMetric(counter, good, bad, total), null, Where(where));
        }

        private MetricQuery ReadSource(ConfigNode node)
        {
            var q = ReadMetricSource(node, needsSelector: true);
            node.RejectUnknown();
            return q;
        }

        private MetricQuery ReadMetricSource(ConfigNode parent, bool needsSelector)
        {
            var source = parent.Required("metricSource");
            var reference = source.OptionalString("metricSourceRef");
            var type = source.String("type", "Prometheus");
            if (type != "Prometheus")
            {
                throw source.Required("type").Error($"'{type}' is not supported (Aida evaluates SLIs as PromQL: type Prometheus)");
            }

            var spec = source.Required("spec");
            var queryNode = spec.Required("query");
            var query = new MetricQuery(queryNode.Scalar(), reference);
            spec.RejectUnknown();
            source.RejectUnknown();
            if (reference is not null && !_dataSources.Any(d => d.Name == reference) && !_names.ContainsKey("DataSource/" + reference))
            {
                throw source.Error("metricSourceRef", $"no DataSource named '{reference}'");
            }

            if (SliQueries.Check(query, needsSelector) is { } problem)
            {
                throw queryNode.Error(problem);
            }

            return query;
        }

        private static BurnRateCondition ReadCondition(string name, ConfigNode spec)
        {
            spec.OptionalString("description");
            var severity = spec.String("severity");
            var condition = spec.Required("condition");
            spec.RejectUnknown();
            var kind = condition.String("kind");
            if (kind != "burnrate")
            {
                throw condition.Required("kind").Error($"'{kind}' is not supported (expected burnrate)");
            }

            var op = condition.String("op", "gte");
            if (op is not ("gte" or "gt"))
            {
                throw condition.Required("op").Error($"'{op}' is not supported for a burn rate (expected gte or gt)");
            }

            var threshold = condition.Number("threshold");
            if (threshold <= 0)
            {
                throw condition.Required("threshold").Error($"{threshold.ToString(CultureInfo.InvariantCulture)} must be greater than zero");
            }

            var lookback = ReadDuration(condition.Required("lookbackWindow"));
            var after = condition.Optional("alertAfter") is { } a ? ReadDuration(a, allowZero: true) : TimeSpan.Zero;
            condition.RejectUnknown();
            var shortWindow = TimeSpan.FromMilliseconds(Math.Max(1000, Math.Round(lookback.TotalMilliseconds / 12 / 1000) * 1000));
            return new BurnRateCondition(name, severity, threshold, lookback, shortWindow, after);
        }

        private AlertPolicyDefinition ReadPolicy(string name, ConfigNode spec)
        {
            var description = spec.OptionalString("description");
            var whenNoData = spec.Boolean("alertWhenNoData", false);
            var whenBreaching = spec.Boolean("alertWhenBreaching", true);
            var whenResolved = spec.Boolean("alertWhenResolved", true);
            var conditions = new List<BurnRateCondition>();
            foreach (var item in spec.List("conditions", required: true))
            {
                if (item.OptionalString("conditionRef") is { } reference)
                {
                    item.RejectUnknown();
                    conditions.Add(_conditions.TryGetValue(reference, out var c) ? c : throw item.Error("conditionRef", $"no AlertCondition named '{reference}'"));
                }
                else
                {
                    conditions.Add(ReadInline(item, "AlertCondition", (n, s) => ReadCondition(n, s)));
                }
            }

            if (conditions.Count == 0)
            {
                throw spec.Error("conditions", "needs at least one condition");
            }

            var targets = new List<NotificationTarget>();
            foreach (var item in spec.List("notificationTargets"))
            {
                if (item.OptionalString("targetRef") is { } reference)
                {
                    item.RejectUnknown();
                    targets.Add(_targets.TryGetValue(reference, out var t) ? t : throw item.Error("targetRef", $"no AlertNotificationTarget named '{reference}'"));
                }
                else
                {
                    targets.Add(ReadInline(item, "AlertNotificationTarget", (n, s) => ReadTarget(n, s, item)));
                }
            }

            spec.RejectUnknown();
            return new AlertPolicyDefinition(name, description, whenResolved, conditions, targets, new SourceLocation(spec.File, spec.Line)) { AlertWhenNoData = whenNoData, AlertWhenBreaching = whenBreaching };
        }

        private static T ReadInline<T>(ConfigNode item, string kind, Func<string, ConfigNode, T> read)
        {
            var k = item.String("kind");
            if (k != kind)
            {
                throw item.Required("kind").Error($"expected {kind}, or a reference");
            }

            item.OptionalString("apiVersion");
            var metadata = item.Required("metadata");
            var name = Name(metadata);
            _ = DisplayName(metadata);
            var result = read(name, item.Required("spec"));
            item.RejectUnknown();
            return result;
        }

        private SloDefinition ReadSlo(ConfigNode document)
        {
            var metadata = document.Required("metadata");
            var name = Name(metadata);
            var domains = ReadRiskDomains(metadata);
            var display = DisplayName(metadata);
            var spec = document.Required("spec");
            var description = spec.OptionalString("description");
            var serviceNode = spec.Required("service");
            var service = serviceNode.Scalar();
            if (_services.Count > 0 && !_services.Any(s => s.Name == service))
            {
                throw serviceNode.Error($"no Service named '{service}'");
            }

            SliDefinition sli;
            if (spec.Optional("indicatorRef") is { } reference)
            {
                if (spec.Has("indicator"))
                {
                    throw spec.Error("indicator", "give indicator or indicatorRef, not both");
                }

                sli = _slis.TryGetValue(reference.Scalar(), out var s) ? s : throw reference.Error($"no SLI named '{reference.Scalar()}'");
            }
            else
            {
                var inline = spec.Optional("indicator") ?? throw spec.Error("needs indicator or indicatorRef");
                var sliName = Name(inline.Required("metadata"));
                _ = DisplayName(inline.Required("metadata"));
                sli = ReadSli(sliName, inline.Required("spec"), inline);
                inline.OptionalString("apiVersion");
                inline.OptionalString("kind");
                inline.RejectUnknown();
            }

            var windows = spec.List("timeWindow", required: true);
            if (windows.Count != 1)
            {
                throw spec.Error("timeWindow", "needs exactly one window");
            }

            var window = ReadWindow(windows[0]);
            var methodNode = spec.Required("budgetingMethod");
            var method = methodNode.Scalar() switch
            {
                "Occurrences" => BudgetingMethod.Occurrences,
                "Timeslices" => BudgetingMethod.Timeslices,
                "RatioTimeslices" => throw methodNode.Error("RatioTimeslices is not supported (use Occurrences with a ratio SLI)"),
                var other => throw methodNode.Error($"unknown value '{other}' (expected Occurrences or Timeslices)"),
            };
            if (method == BudgetingMethod.Occurrences && sli.Ratio is null)
            {
                throw methodNode.Error("Occurrences needs a ratioMetric SLI (a thresholdMetric SLI is counted in Timeslices)");
            }

            if (method == BudgetingMethod.Timeslices && sli.Threshold is null)
            {
                throw methodNode.Error("Timeslices needs a thresholdMetric SLI");
            }

            var objectives = spec.List("objectives", required: true);
            if (objectives.Count != 1)
            {
                throw spec.Error("objectives", "Aida reads exactly one objective per SLO (write one SLO per objective)");
            }

            var objective = ReadObjective(objectives[0], method);
            var policies = new List<AlertPolicyDefinition>();
            foreach (var item in spec.List("alertPolicies"))
            {
                if (item.OptionalString("alertPolicyRef") is { } policyRef)
                {
                    item.RejectUnknown();
                    policies.Add(_policies.TryGetValue(policyRef, out var p) ? p : throw item.Error("alertPolicyRef", $"no AlertPolicy named '{policyRef}'"));
                }
                else
                {
                    policies.Add(ReadInline(item, "AlertPolicy", ReadPolicy));
                }
            }

            spec.RejectUnknown();
            return new SloDefinition(name, display, service, description, objective, window, method, sli, policies, Where(document)) { RiskDomains = domains };
        }

        private static RiskDomains ReadRiskDomains(ConfigNode metadata)
        {
            if (metadata.Optional("annotations")?.Optional(RiskDomainText.Annotation) is not { } node)
            {
                return RiskDomains.All;
            }

            try
            {
                return RiskDomainText.Parse(node.Scalar());
            }
            catch (FormatException e)
            {
                throw node.Error(e.Message);
            }
        }

        private static SloObjective ReadObjective(ConfigNode node, BudgetingMethod method)
        {
            node.OptionalString("displayName");
            double target;
            if (node.Optional("target") is { } t)
            {
                target = t.AsNumber();
                if (!(target > 0 && target < 1))
                {
                    throw t.Error($"{t.Scalar()} is outside (0, 1): an objective is a fraction such as 0.999");
                }
            }
            else if (node.Optional("targetPercent") is { } p)
            {
                var percent = p.AsNumber();
                if (!(percent > 0 && percent < 100))
                {
                    throw p.Error($"{p.Scalar()} is outside (0, 100)");
                }

                target = percent / 100;
            }
            else
            {
                throw node.Error("target", "is required (or targetPercent)");
            }

            ThresholdOperator? op = null;
            double? value = null;
            TimeSpan? slice = null;
            if (method == BudgetingMethod.Timeslices)
            {
                var opNode = node.Required("op");
                op = Operators.TryGetValue(opNode.Scalar(), out var o) ? o : throw opNode.Error($"unknown operator '{opNode.Scalar()}' (expected lt, lte, gt or gte)");
                value = node.Number("value");
                slice = ReadDuration(node.Required("timeSliceWindow"));
                if (node.Optional("timeSliceTarget") is { } st)
                {
                    var sliceTarget = st.AsNumber();
                    if (sliceTarget != 1)
                    {
                        throw st.Error("only 1 is supported: a slice is good when its value meets the threshold");
                    }
                }
            }

            node.RejectUnknown();
            return new SloObjective(target, op, value, slice);
        }

        private static SloWindow ReadWindow(ConfigNode node)
        {
            var durationNode = node.Required("duration");
            if (!SloWindow.TryParseShorthand(durationNode.Scalar(), out var count, out var unit, out var problem))
            {
                throw durationNode.Error(problem);
            }

            var rolling = node.Boolean("isRolling", false);
            var calendar = node.Optional("calendar");
            node.RejectUnknown();
            if (rolling)
            {
                if (calendar is not null)
                {
                    throw calendar.Error("a rolling window has no calendar (set isRolling: false)");
                }

                if (unit is WindowUnit.Month or WindowUnit.Quarter or WindowUnit.Year)
                {
                    throw durationNode.Error("a rolling window is minutes, hours, days or weeks (months, quarters and years are calendar windows: isRolling: false)");
                }

                return SloWindow.Rolling(count, unit);
            }

            if (calendar is null)
            {
                throw node.Error("calendar", "is required for a calendar window (isRolling: false), e.g. {startTime: 2025-01-01 00:00:00, timeZone: UTC}");
            }

            var startNode = calendar.Required("startTime");
            if (!DateTime.TryParseExact(startNode.Scalar(), ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
            {
                throw startNode.Error($"'{startNode.Scalar()}' is not a time (expected yyyy-MM-dd HH:mm:ss)");
            }

            if (start.Year < 1900 || start.Year > 9000)
            {
                throw startNode.Error($"'{startNode.Scalar()}' is out of range (years 1900 to 9000)");
            }

            var zoneNode = calendar.Required("timeZone");
            TimeZoneInfo zone;
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(zoneNode.Scalar());
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
            {
                throw zoneNode.Error($"unknown time zone '{zoneNode.Scalar()}' (an IANA name such as UTC or America/New_York)");
            }

            calendar.RejectUnknown();
            return SloWindow.Calendar(count, unit, start, zone);
        }

        private static TimeSpan ReadDuration(ConfigNode node, bool allowZero = false)
        {
            var text = node.Scalar();
            if (!PromDuration.TryParse(text, out var value, out _) || value < TimeSpan.Zero)
            {
                throw node.Error($"'{text}' is not a duration (e.g. 5m, 1h, 3d)");
            }

            if (value == TimeSpan.Zero && !allowZero)
            {
                throw node.Error("must be longer than zero");
            }

            return value;
        }
    }
}
