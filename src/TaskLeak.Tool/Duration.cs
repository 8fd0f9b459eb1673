using System;
using System.Globalization;

namespace TaskLeak.Tool;

/// <summary>Durations on the command line: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>; a bare number is seconds.</summary>
internal static class Duration
{
    internal static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        string t = text.Trim().ToLowerInvariant();
        double scale = 1000;
        if (t.EndsWith("ms", StringComparison.Ordinal))
        {
            scale = 1;
            t = t[..^2];
        }
        else if (t.EndsWith('s'))
        {
            t = t[..^1];
        }
        else if (t.EndsWith('m'))
        {
            scale = 60_000;
            t = t[..^1];
        }
        else if (t.EndsWith('h'))
        {
            scale = 3_600_000;
            t = t[..^1];
        }

        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number) ||
            double.IsNaN(number) || number * scale > int.MaxValue)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(Math.Round(number * scale));
        return true;
    }
}
