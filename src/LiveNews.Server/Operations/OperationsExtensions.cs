using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace LiveNews.Server.Operations;

/// <summary>What every deployment needs: problem details, health, the OpenAPI document, the clock.</summary>
internal static class OperationsExtensions
{
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHealthChecks();
        return services;
    }

    public static WebApplication UseOperations(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder endpoints)
    {
        // Liveness runs no check: a Redis outage must not get a healthy node restarted.
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        endpoints.MapOpenApi();
        return endpoints;
    }
}
