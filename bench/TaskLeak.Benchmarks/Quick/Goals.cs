using System;
using System.Collections.Generic;
using System.Globalization;

namespace TaskLeak.Benchmarks.Quick;

/// <summary>The goals, each judged on figures of this run; one PASS/FAIL line each.</summary>
internal sealed class Goals
{
    private readonly List<string> _lines = new();

    internal int Met { get; private set; }
    internal int Missed { get; private set; }
    internal int Unmeasured { get; private set; }

    internal IReadOnlyList<string> Lines => _lines;

    internal void Judge(string goal, bool? met, string evidence)
    {
        string verdict = met switch { true => "PASS", false => "FAIL", null => "n/a " };
        _ = met switch { true => Met++, false => Missed++, null => Unmeasured++ };
        _lines.Add($"{verdict}  {goal}: {evidence}");
    }

    internal static string F(double value, int decimals = 1) => value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    internal static string Ratio(double value) => value.ToString("F2", CultureInfo.InvariantCulture) + "x";

    internal static string Bytes(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) + " B" : "? B";

    internal static string Signed(long value) => value > 0 ? "+" + value.ToString(CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    internal static string Signed(double value) => (value >= 0 ? "+" : "") + F(value);

    internal static double Combined(double a, double b) => Math.Sqrt((a * a) + (b * b));
}
