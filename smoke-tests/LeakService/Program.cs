using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using TaskLeak;
using TaskLeak.AspNetCore;

namespace LeakService;

/// <summary>
/// A minimal API with known verdicts: /leak and /leak-chain leak one operation per request (a dropped completion
/// source, a dropped channel), /clean leaks nothing, /stuck parks a worker per request on a completion source kept in
/// a static (reachable: stalled, never proven). The TaskLeak routes sit behind a bearer token
/// (LEAKSERVICE_TOKEN); the TaskLeak Meter is exported through OpenTelemetry (in memory, shown at /otel).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAuthentication(BearerToken.SchemeName).AddScheme<AuthenticationSchemeOptions, BearerToken>(BearerToken.SchemeName, null);
        builder.Services.AddAuthorization();
        var exported = new List<Metric>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("TaskLeak")
            .AddInMemoryExporter(exported, reader => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 1000));

        WebApplication app = builder.Build();
        TaskLeakDetector.UseLoggerFactory(app.Services.GetRequiredService<ILoggerFactory>());
        // One line per sweep that proves leaks, naming the thread it ran on (the periodic detection's own, or the GC-woken sweeper's).
        TaskLeakDetector.LeakDetected += (_, e) => Console.WriteLine("leak-detected thread=\"" + System.Threading.Thread.CurrentThread.Name + "\" count=" + e.Leaks.Sum(l => l.Count));
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/leak", () =>
        {
            Orders.StartWaitingForConfirmation();
            return "started\n";
        });
        app.MapGet("/leak-chain", () =>
        {
            Orders.StartReadingUpdates();
            return "started\n";
        });
        app.MapGet("/clean", Orders.CleanAsync);
        app.MapGet("/stuck", () =>
        {
            Orders.StartWaitingForShutdown();
            return "started\n";
        });

        // What an operator asks a running service; protected: it reveals method names, source paths and call structure.
        app.MapTaskLeak("/debug/taskleak").RequireAuthorization();

        app.MapGet("/otel", (MeterProvider provider) =>
        {
            lock (exported)
            {
                exported.Clear();
                provider.ForceFlush();
                // Cumulative temporality: each point is a total since start; sum a metric's points (one per tag set).
                return Results.Json(exported.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last().Sum()));
            }
        }).RequireAuthorization();

        Ballast.FromEnvironment();
        app.Run();
    }

    private static long Sum(this Metric metric)
    {
        long total = 0;
        foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
        {
            total += metric.MetricType is MetricType.LongSum ? point.GetSumLong() : point.GetGaugeLastValueLong();
        }

        return total;
    }
}

/// <summary>A bearer token of this service's own: <c>Authorization: Bearer $LEAKSERVICE_TOKEN</c>.</summary>
internal sealed class BearerToken : AuthenticationHandler<AuthenticationSchemeOptions>
{
    internal const string SchemeName = "Bearer";

    public BearerToken(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : base(options, logger, encoder)
    {
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? expected = Environment.GetEnvironmentVariable("LEAKSERVICE_TOKEN");
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(expected) || header is null || !header.StartsWith("Bearer ", StringComparison.Ordinal)
            || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(header.Substring(7)), System.Text.Encoding.UTF8.GetBytes(expected)))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity(new[] { new Claim(ClaimTypes.Name, "operator") }, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
