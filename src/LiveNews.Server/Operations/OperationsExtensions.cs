using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Features;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LiveNews.Server.Operations;

/// <summary>What every deployment needs: problem details, health, metrics and traces, the OpenAPI document, the clock.</summary>
internal static class OperationsExtensions
{
    public static IServiceCollection AddOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddLiveNewsRateLimiting(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks();
        services.AddSingleton<LiveNewsMetrics>();
        var telemetry = services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(LiveNewsMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());

        // Traces, metrics and logs also go to an OTLP collector when OTEL_EXPORTER_OTLP_ENDPOINT is set (in the
        // environment or any configuration source). Without one nothing reads traces, so none are recorded: a
        // recorded request activity costs every request its tags (ASP.NET Core still starts a bare one, for
        // log scopes).
        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(LiveNewsMetrics.MeterName)
                    .AddAspNetCoreInstrumentation())
                .UseOtlpExporter();
        }

        return services;
    }

    public static WebApplication UseOperations(this WebApplication app)
    {
        // First: everything after sees the client's own address when a trusted proxy reports it.
        app.UseForwardedHeaders();

        // A WebSocket request stays open for hours, and a middleware that awaits the rest of the pipeline keeps
        // its state that long (~120 bytes each, per reader): these two have nothing to do for one (what fails
        // once it is open is SignalR's to handle, and a browser sees no body of a refused handshake).
        app.UseWhen(context => !IsWebSocket(context), errors => errors.UseExceptionHandler().UseStatusCodePages());
        app.UseCors();
        return app;
    }

    /// <summary>
    /// A WebSocket handshake (HTTP/1.1 upgrade or HTTP/2 extended CONNECT), told before any WebSocket middleware
    /// has run. Kestrel calls any bodiless request with <c>Connection: upgrade</c> upgradable (nginx sends that
    /// header for <c>Upgrade: h2c</c> too), so the protocol asked is what decides.
    /// </summary>
    private static bool IsWebSocket(HttpContext context) =>
        context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect
            ? string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase)
            : HttpMethods.IsGet(context.Request.Method)
                && context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
                && context.Request.Headers.Upgrade.Any(value => value?.Contains("websocket", StringComparison.OrdinalIgnoreCase) == true);

    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder endpoints)
    {
        // Liveness runs no check: a Redis outage must not get a healthy node restarted.
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        endpoints.MapOpenApi();
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }
}
