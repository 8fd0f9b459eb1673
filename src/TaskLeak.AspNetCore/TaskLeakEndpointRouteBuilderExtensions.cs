using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace TaskLeak.AspNetCore;

/// <summary>Maps TaskLeak's leak profile (proven leaks, pending operations, suspected tiers) into an app's routes.</summary>
public static class TaskLeakEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the TaskLeak routes under <paramref name="pattern"/>: the index, <c>/leaks</c> (<c>?detect=true</c> forces a
    /// rate-limited detection), <c>/pending</c>, <c>/stalled</c> and <c>/growing</c>, each as text or <c>?format=json</c>.
    /// They reveal method names, source paths and call structure: protect them by chaining
    /// <c>.RequireAuthorization(...)</c> (and <c>.RequireHost(...)</c>) on the builder returned.
    /// </summary>
    /// <param name="endpoints">The app or route group to map into.</param>
    /// <param name="pattern">The route prefix, for example <c>/debug/taskleak</c>.</param>
    /// <param name="configure">Changes the endpoint settings.</param>
    /// <returns>A builder that applies conventions (authorization, host, ...) to every TaskLeak route.</returns>
    public static IEndpointConventionBuilder MapTaskLeak(this IEndpointRouteBuilder endpoints, string pattern = "/debug/taskleak",
        Action<TaskLeakEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var options = new TaskLeakEndpointOptions();
        configure?.Invoke(options);
        options.Gate = new DetectionGate(options);
        var handlers = new Handlers(options);

        RouteGroupBuilder group = endpoints.MapGroup(pattern);
        group.MapGet("/", (Func<HttpContext, IResult>)handlers.Index).WithDisplayName("TaskLeak index");
        group.MapGet("/leaks", (Func<HttpContext, Task<IResult>>)handlers.Leaks).WithDisplayName("TaskLeak leaks");
        group.MapGet("/pending", (Func<HttpContext, IResult>)handlers.Pending).WithDisplayName("TaskLeak pending");
        group.MapGet("/stalled", (Func<HttpContext, IResult>)handlers.Stalled).WithDisplayName("TaskLeak stalled");
        group.MapGet("/growing", (Func<HttpContext, IResult>)handlers.Growing).WithDisplayName("TaskLeak growing");
        return group;
    }

    private sealed class Handlers
    {
        private const string Json = "application/json; charset=utf-8";
        private const string Text = "text/plain; charset=utf-8";
        private readonly TaskLeakEndpointOptions _options;

        internal Handlers(TaskLeakEndpointOptions options) => _options = options;

        internal IResult Index(HttpContext context)
        {
            string basePath = WebUtility.HtmlEncode((context.Request.PathBase + context.Request.Path).Value?.TrimEnd('/') ?? "");
            var html = new StringBuilder();
            html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>TaskLeak</title></head><body>\n<h1>TaskLeak</h1>\n<ul>\n");
            foreach ((string route, string what) in Routes)
            {
                html.Append("<li><a href=\"").Append(basePath).Append(route).Append("\">").Append(route.TrimStart('/')).Append("</a> (<a href=\"")
                    .Append(basePath).Append(route).Append(route.Contains('?') ? "&amp;" : "?").Append("format=json\">json</a>) \u2014 ")
                    .Append(WebUtility.HtmlEncode(what)).Append("</li>\n");
            }

            html.Append("</ul>\n<p>Proven leaks are frames the garbage collector reclaimed while suspended. Pending, stalled and growing ")
                .Append("operations are still reachable: suspected, never proven.</p>\n</body></html>\n");
            return Results.Content(html.ToString(), "text/html; charset=utf-8");
        }

        internal async Task<IResult> Leaks(HttpContext context)
        {
            if (!TryFormat(context, out bool json, out IResult? error))
            {
                return error!;
            }

            TaskLeakReport report;
            string? detect = context.Request.Query["detect"];
            if (detect is not null && IsTrue(detect))
            {
                var (pending, outcome, retryAfter) = _options.Gate!.Request();
                report = await pending.ConfigureAwait(false);
                context.Response.Headers["X-TaskLeak-Detection"] = outcome switch
                {
                    DetectionOutcome.Ran => "ran",
                    DetectionOutcome.Shared => "shared",
                    _ => "rate-limited",
                };
                if (outcome == DetectionOutcome.RateLimited)
                {
                    context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }
            }
            else if (detect is not null && !IsFalse(detect))
            {
                return Results.BadRequest("detect must be true or false, not '" + detect + "'.");
            }
            else
            {
                report = TaskLeakDetector.GetReport();
                context.Response.Headers["X-TaskLeak-Detection"] = "none";
            }

            return json ? Results.Text(report.ToJson() + "\n", Json) : Results.Text(report.IsEmpty ? "TaskLeak: no leaks proven.\n" : report.ToString(), Text);
        }

        internal IResult Pending(HttpContext context)
        {
            if (!TryFormat(context, out bool json, out IResult? error) || !TryAge(context, TimeSpan.Zero, out TimeSpan minAge, out error))
            {
                return error!;
            }

            TaskLeakSnapshot snapshot = TaskLeakDetector.Snapshot(minAge);
            return json ? Results.Text(snapshot.ToJson() + "\n", Json) : Results.Text(snapshot.ToString(), Text);
        }

        internal IResult Stalled(HttpContext context)
        {
            if (!TryFormat(context, out bool json, out IResult? error) || !TryAge(context, _options.DefaultStalledAge, out TimeSpan minAge, out error))
            {
                return error!;
            }

            IReadOnlyList<StalledOperationGroup> stalled = TaskLeakDetector.GetStalled(minAge);
            if (json)
            {
                return Results.Text(stalled.ToJson() + "\n", Json);
            }

            var text = new StringBuilder();
            text.Append("TaskLeak: ").Append(stalled.Count).Append(" site(s) with operations at the same await for ")
                .Append(((long)minAge.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append(" ms or more [")
                .Append(StalledOperationGroup.Label).Append("]\n");
            foreach (StalledOperationGroup group in stalled)
            {
                text.Append("  ").Append(group).Append('\n');
            }

            return Results.Text(text.ToString(), Text);
        }

        internal IResult Growing(HttpContext context)
        {
            if (!TryFormat(context, out bool json, out IResult? error))
            {
                return error!;
            }

            IReadOnlyList<GrowingSite> growing = TaskLeakDetector.GetGrowingSites();
            if (json)
            {
                return Results.Text(growing.ToJson() + "\n", Json);
            }

            var text = new StringBuilder();
            text.Append("TaskLeak: ").Append(growing.Count).Append(" site(s) whose live count kept rising [").Append(StalledOperationGroup.Label).Append("]\n");
            foreach (GrowingSite site in growing)
            {
                text.Append("  ").Append(site).Append('\n');
            }

            return Results.Text(text.ToString(), Text);
        }

        private static readonly (string Route, string What)[] Routes =
        {
            ("/leaks", "proven leaks; ?detect=true forces a (rate-limited) detection"),
            ("/pending", "every suspended operation by await site, with its async stacks and age; ?minAge=30s"),
            ("/stalled?minAge=1m", "suspected: operations at the same await for at least minAge"),
            ("/growing", "suspected: await sites whose live count kept rising"),
        };

        private static bool TryFormat(HttpContext context, out bool json, out IResult? error)
        {
            string? format = context.Request.Query["format"];
            json = string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
            error = json || format is null || string.Equals(format, "text", StringComparison.OrdinalIgnoreCase)
                ? null
                : Results.BadRequest("format must be text or json, not '" + format + "'.");
            return error is null;
        }

        private static bool TryAge(HttpContext context, TimeSpan fallback, out TimeSpan age, out IResult? error)
        {
            string? text = context.Request.Query["minAge"];
            error = null;
            if (text is null)
            {
                age = fallback;
                return true;
            }

            if (Durations.TryParse(text, out age))
            {
                return true;
            }

            error = Results.BadRequest("minAge must be a duration such as 500ms, 30s, 5m, 1h (a bare number is seconds), not '" + text + "'.");
            return false;
        }

        private static bool IsTrue(string value) => value.Length == 0 || value is "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase);

        private static bool IsFalse(string value) => value is "0" || value.Equals("false", StringComparison.OrdinalIgnoreCase);
    }
}
