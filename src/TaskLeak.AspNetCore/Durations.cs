using System;
using System.Globalization;

namespace TaskLeak.AspNetCore;

/// <summary>Query durations: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>; a bare number is seconds.</summary>
internal static class Durations
{
    internal static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim();
        (string unit, double scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? ("ms", 1.0)
            : text.EndsWith('s') || text.EndsWith('S') ? ("s", 1000.0)
            : text.EndsWith('m') || text.EndsWith('M') ? ("m", 60_000.0)
            : text.EndsWith('h') || text.EndsWith('H') ? ("h", 3_600_000.0)
            : ("", 1000.0);
        string number = text.Substring(0, text.Length - unit.Length);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double amount) && amount >= 0 && amount * scale < int.MaxValue * 1000.0)
        {
            value = TimeSpan.FromMilliseconds(amount * scale);
            return true;
        }

        value = TimeSpan.Zero;
        return false;
    }
}
