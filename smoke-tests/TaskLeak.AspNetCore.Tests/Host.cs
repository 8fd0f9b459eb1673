using System;
using System.Net.Http;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TaskLeak.AspNetCore.Tests;

/// <summary>A real ASP.NET Core pipeline on the in-memory test server.</summary>
internal sealed class Host : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Host(WebApplication app)
    {
        _app = app;
        Client = app.GetTestClient();
    }

    internal HttpClient Client { get; }

    internal static async Task<Host> StartAsync(Action<WebApplication> map, bool authentication = false)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        if (authentication)
        {
            builder.Services.AddAuthentication(ApiKeyHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
            builder.Services.AddAuthorization();
        }

        WebApplication app = builder.Build();
        if (authentication)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        map(app);
        await app.StartAsync();
        return new Host(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Accepts <c>Authorization: Bearer test-key</c>.</summary>
internal sealed class ApiKeyHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    internal const string SchemeName = "ApiKey";

    public ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : base(options, logger, encoder)
    {
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header != "Bearer test-key")
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity(new[] { new Claim(ClaimTypes.Name, "operator") }, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    internal void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
