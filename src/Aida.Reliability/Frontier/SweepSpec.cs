using System.Globalization;
using Aida.Model.Scenarios;

namespace Aida.Reliability.Frontier;

/// <summary>A setpoint <c>aida frontier</c> can sweep, with the plant's hard limits for it.</summary>
/// <param name="Name">The name on the command line.</param>
/// <param name="Unit">The unit of its values.</param>
/// <param name="Min">Lowest value the plant accepts (<see cref="SetpointLimits"/>).</param>
/// <param name="Max">Highest value the plant accepts.</param>
/// <param name="Description">What it sets.</param>
public sealed record SweepParameter(string Name, string Unit, double Min, double Max, string Description)
{
    public static SweepParameter FacilityWaterSupply { get; } = new(
        "facility_water_supply", "°C", SetpointLimits.FacilityWaterMin, SetpointLimits.FacilityWaterMax, "facility-water supply setpoint");

    public static SweepParameter CduSupply { get; } = new(
        "cdu_supply", "°C", SetpointLimits.CduSupplyMin, SetpointLimits.CduSupplyMax, "every CDU's secondary supply setpoint");

    public static SweepParameter CrahSupply { get; } = new(
        "crah_supply", "°C", SetpointLimits.CrahSupplyMin, SetpointLimits.CrahSupplyMax, "every CRAH's supply-air setpoint");

    public static IReadOnlyList<SweepParameter> All { get; } = [FacilityWaterSupply, CduSupply, CrahSupply];
}

/// <summary>A sweep: one parameter from a value to another in steps, as <c>PARAM=FROM..TO:STEP</c>.</summary>
public sealed record SweepSpec(SweepParameter Parameter, double From, double To, double Step)
{
    /// <summary>The most points one sweep may have: each is a whole simulation.</summary>
    public const int MaxPoints = 100;

    /// <summary>The settings from <see cref="From"/> to <see cref="To"/> inclusive (within a millionth of a step).</summary>
    public IReadOnlyList<double> Values
    {
        get
        {
            var values = new List<double>();
            for (var i = 0; ; i++)
            {
                var v = From + (i * Step);
                if (v > To + (Step * 1e-6))
                {
                    return values;
                }

                values.Add(Math.Round(v, 9));
            }
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Parameter.Name}={From}..{To}:{Step}");

    /// <summary>Parses <c>PARAM=FROM..TO:STEP</c>; on failure <paramref name="problem"/> says what is wrong in one line.</summary>
    public static bool TryParse(string? text, out SweepSpec? spec, out string problem)
    {
        spec = null;
        var names = string.Join(", ", SweepParameter.All.Select(p => p.Name));
        var form = "expected PARAM=FROM..TO:STEP, e.g. facility_water_supply=18..34:2";
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = form;
            return false;
        }

        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var dots = text.IndexOf("..", StringComparison.Ordinal);
        var colon = text.LastIndexOf(':');
        if (eq <= 0 || dots < eq || colon < dots)
        {
            problem = $"'{text}': {form}";
            return false;
        }

        var name = text[..eq].Trim();
        var parameter = SweepParameter.All.FirstOrDefault(p => p.Name == name);
        if (parameter is null)
        {
            problem = $"unknown parameter '{name}' (expected one of {names})";
            return false;
        }

        if (!Number(text[(eq + 1)..dots], out var from) || !Number(text[(dots + 2)..colon], out var to) || !Number(text[(colon + 1)..], out var step))
        {
            problem = $"'{text}': FROM, TO and STEP must be numbers ({form})";
            return false;
        }

        if (step <= 0)
        {
            problem = $"'{text}': STEP must be above zero";
            return false;
        }

        if (from > to)
        {
            problem = $"'{text}': empty range (FROM is above TO)";
            return false;
        }

        if (from < parameter.Min || to > parameter.Max)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"'{text}': {parameter.Name} must stay within {parameter.Min}..{parameter.Max} {parameter.Unit}, the plant's limits");
            return false;
        }

        if (Math.Floor((to - from) / step) + 1 > MaxPoints)
        {
            problem = $"'{text}': more than {MaxPoints} points (each is a simulation); take a larger STEP";
            return false;
        }

        spec = new SweepSpec(parameter, from, to, step);
        problem = "";
        return true;
    }

    private static bool Number(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}
