using System;
using System.Collections.Generic;
using System.Globalization;

namespace TaskLeak.Configuration;

/// <summary>
/// Reads the startup settings: environment variables override runtimeconfig/AppContext switches, which override the
/// defaults. Environment wins because it is what an operator can change on a deployed build without rebuilding it
/// (the kill switch must work that way); code (<see cref="TaskLeakDetector.Configure"/>) runs later and wins over both
/// for the properties it sets. A value that does not parse is ignored, with a message in <see cref="Errors"/>.
/// </summary>
internal static class TaskLeakConfiguration
{
    internal static readonly Setting Enabled = new("TASKLEAK_ENABLED", "TaskLeak.Enabled");
    internal static readonly Setting SampleRate = new("TASKLEAK_SAMPLE_RATE", "TaskLeak.SampleRate");
    internal static readonly Setting CreationStacks = new("TASKLEAK_CREATION_STACKS", "TaskLeak.CreationStacks");
    internal static readonly Setting CreationStacksPerSite = new("TASKLEAK_CREATION_STACKS_PER_SITE", "TaskLeak.CreationStacksPerSite");
    internal static readonly Setting CreationStackSampleRate = new("TASKLEAK_CREATION_STACK_SAMPLE_RATE", "TaskLeak.CreationStackSampleRate");
    internal static readonly Setting StalledThresholdMs = new("TASKLEAK_STALLED_THRESHOLD_MS", "TaskLeak.StalledThresholdMs");
    internal static readonly Setting GrowingSiteSweeps = new("TASKLEAK_GROWING_SITE_SWEEPS", "TaskLeak.GrowingSiteSweeps");
    internal static readonly Setting GrowingSiteMinimumIncrease = new("TASKLEAK_GROWING_SITE_MINIMUM_INCREASE", "TaskLeak.GrowingSiteMinimumIncrease");
    internal static readonly Setting ReportOnProcessExit = new("TASKLEAK_REPORT_ON_EXIT", "TaskLeak.ReportOnProcessExit");
    internal static readonly Setting DetectionInterval = new("TASKLEAK_DETECTION_INTERVAL", "TaskLeak.DetectionInterval");

    private static readonly object s_lock = new();
    private static readonly List<string> s_errors = new();

    /// <summary>Settings that could not be read (name, value and why), from every read so far.</summary>
    internal static IReadOnlyList<string> Errors
    {
        get
        {
            lock (s_lock)
            {
                return s_errors.ToArray();
            }
        }
    }

    /// <summary>The process's own sources: environment variables and AppContext (runtimeconfig.json configProperties, AppContext.SetSwitch/SetData).</summary>
    internal static TaskLeakOptions ReadFromProcess() =>
        Read(System.Environment.GetEnvironmentVariable, AppContext.GetData, static name => AppContext.TryGetSwitch(name, out bool value) ? value : null);

    /// <summary>Reads every setting from the given sources (tests pass their own).</summary>
    /// <param name="environment">Environment variable by name, or null.</param>
    /// <param name="appContextData">AppContext data by name (runtimeconfig values arrive as strings), or null.</param>
    /// <param name="appContextSwitch">AppContext switch by name, or null when not set.</param>
    internal static TaskLeakOptions Read(Func<string, string?> environment, Func<string, object?> appContextData, Func<string, bool?> appContextSwitch)
    {
        var options = new TaskLeakOptions();
        var reader = new Reader(environment, appContextData, appContextSwitch);
        if (reader.Bool(Enabled) is bool enabled)
        {
            options.Enabled = enabled;
        }

        if (reader.Parse(SampleRate, t => ParseInt(t, 1), "a whole number >= 1") is int rate)
        {
            options.SampleRate = rate;
        }

        if (reader.Parse(CreationStacks, ParseMode, "None, Sampled or All") is CreationStackMode mode)
        {
            options.CreationStacks = mode;
        }

        if (reader.Parse(CreationStacksPerSite, t => ParseInt(t, 0), "a whole number >= 0") is int perSite)
        {
            options.CreationStacksPerSite = perSite;
        }

        if (reader.Parse(CreationStackSampleRate, t => ParseInt(t, 1), "a whole number >= 1") is int stackRate)
        {
            options.CreationStackSampleRate = stackRate;
        }

        if (reader.Parse(StalledThresholdMs, t => ParseInt(t, 0), "a whole number of milliseconds >= 0") is int stalledMs)
        {
            options.StalledThreshold = stalledMs == 0 ? null : TimeSpan.FromMilliseconds(stalledMs);
        }

        if (reader.Parse(GrowingSiteSweeps, t => ParseInt(t, 0), "a whole number >= 0") is int sweeps)
        {
            options.GrowingSiteSweeps = sweeps;
        }

        if (reader.Parse(GrowingSiteMinimumIncrease, t => ParseInt(t, 1), "a whole number >= 1") is int increase)
        {
            options.GrowingSiteMinimumIncrease = increase;
        }

        if (reader.Bool(ReportOnProcessExit) is bool onExit)
        {
            options.ReportOnProcessExit = onExit;
        }

        if (reader.Parse(DetectionInterval, ParseInterval, "a duration of at least 1s (30s, 5m, 1h, 00:05:00) or off") is TimeSpan interval)
        {
            options.DetectionInterval = interval == TimeSpan.Zero ? null : interval;
        }

        return options;
    }

    private static void Error(string message)
    {
        lock (s_lock)
        {
            if (s_errors.Count < 64)
            {
                s_errors.Add(message);
            }
        }
    }

    private static bool? ParseBool(string text) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "true" or "on" or "yes" => true,
        "0" or "false" or "off" or "no" => false,
        _ => null,
    };

    private static int? ParseInt(string text, int minimum) =>
        int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= minimum ? value : null;

    /// <summary>A duration with a unit (<c>500ms</c> is refused: below the minimum), a TimeSpan (<c>00:05:00</c>), or off (<see cref="TimeSpan.Zero"/>).</summary>
    internal static TimeSpan? ParseInterval(string text)
    {
        text = text.Trim().ToLowerInvariant();
        if (text is "0" or "off" or "false" or "none")
        {
            return TimeSpan.Zero;
        }

        TimeSpan value;
        (string unit, double seconds) = text.EndsWith("ms", StringComparison.Ordinal) ? ("ms", 0.001)
            : text.EndsWith("s", StringComparison.Ordinal) ? ("s", 1.0)
            : text.EndsWith("m", StringComparison.Ordinal) ? ("m", 60.0)
            : text.EndsWith("h", StringComparison.Ordinal) ? ("h", 3600.0)
            : ("", 0.0);
        if (unit.Length > 0)
        {
            if (!double.TryParse(text.Substring(0, text.Length - unit.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double amount)
                || double.IsNaN(amount) || amount * seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return null;
            }

            value = TimeSpan.FromSeconds(amount * seconds);
        }
        else if (text.IndexOf(':') < 0 || !TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value))
        {
            return null;
        }

        return value >= TaskLeakOptions.MinimumDetectionInterval ? value : null;
    }

    private static CreationStackMode? ParseMode(string text) => text.Trim().ToLowerInvariant() switch
    {
        "none" or "0" => CreationStackMode.None,
        "sampled" or "1" => CreationStackMode.Sampled,
        "all" or "2" => CreationStackMode.All,
        _ => null,
    };

    /// <summary>One setting: its environment variable and its runtimeconfig/AppContext name.</summary>
    internal readonly struct Setting
    {
        internal Setting(string environment, string appContext)
        {
            Environment = environment;
            AppContext = appContext;
        }

        internal string Environment { get; }
        internal string AppContext { get; }
    }

    /// <summary>Looks a setting up in each source in order of precedence; a source that throws counts as unset.</summary>
    private sealed class Reader
    {
        private readonly Func<string, string?> _environment;
        private readonly Func<string, object?> _data;
        private readonly Func<string, bool?> _switch;

        internal Reader(Func<string, string?> environment, Func<string, object?> data, Func<string, bool?> appSwitch)
        {
            _environment = environment;
            _data = data;
            _switch = appSwitch;
        }

        internal bool? Bool(Setting setting)
        {
            string? text = FromEnvironment(setting);
            if (text is not null)
            {
                if (ParseBool(text) is bool parsed)
                {
                    return parsed;
                }

                Error(setting.Environment + "=" + text + " is not a boolean (1/0, true/false, on/off); ignored.");
            }

            if (Safe(() => _switch(setting.AppContext)) is bool value)
            {
                return value;
            }

            object? data = Safe(() => _data(setting.AppContext));
            if (data is null)
            {
                return null;
            }

            if (data is bool b)
            {
                return b;
            }

            return Parse(setting.AppContext, data, ParseBool, "a boolean");
        }

        internal T? Parse<T>(Setting setting, Func<string, T?> parse, string expected)
            where T : struct
        {
            string? text = FromEnvironment(setting);
            if (text is not null)
            {
                if (parse(text) is T parsed)
                {
                    return parsed;
                }

                Error(setting.Environment + "=" + text + " is not " + expected + "; ignored.");
            }

            object? data = Safe(() => _data(setting.AppContext));
            return data is null ? null : Parse(setting.AppContext, data, parse, expected);
        }

        private static T? Parse<T>(string name, object data, Func<string, T?> parse, string expected)
            where T : struct
        {
            string text = Convert.ToString(data, CultureInfo.InvariantCulture) ?? "";
            T? parsed = parse(text);
            if (parsed is null)
            {
                Error(name + "=" + text + " is not " + expected + "; ignored.");
            }

            return parsed;
        }

        private string? FromEnvironment(Setting setting)
        {
            string? value = Safe(() => _environment(setting.Environment));
            return string.IsNullOrWhiteSpace(value) ? null : value!.Trim();
        }

        private static T? Safe<T>(Func<T?> read)
        {
            try
            {
                return read();
            }
            catch (Exception)
            {
                return default;
            }
        }
    }
}
