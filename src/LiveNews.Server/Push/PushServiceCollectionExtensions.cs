using LiveNews.Server.Operations;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Push;

internal static class PushServiceCollectionExtensions
{
    public static IServiceCollection AddPush(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PushOptions>().Bind(configuration.GetSection(PushOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PushOptions>, PushOptionsValidator>();
        services.AddSingleton<PushSubscriptions>();
        services.AddSingleton<AlertQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertQueue>());
        services.AddSingleton<PushSender>();
        services.AddHostedService(sp => sp.GetRequiredService<PushSender>());

        // Polly's per-attempt timeout governs; the client's own is only a backstop above it.
        services.AddHttpClient(PushSender.HttpClientName, (sp, client) =>
                client.Timeout = sp.GetRequiredService<IOptions<PushOptions>>().Value.AttemptTimeout * 2)
            .ConfigurePrimaryHttpMessageHandler(sp => PushNetwork.Handler(PushNetwork.AllowsLoopback(sp.GetRequiredService<IHostEnvironment>())));
        return services;
    }

    public static IEndpointRouteBuilder MapPush(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGroup("/api/push").WithTags("Push").AllowAnonymous().RequireRateLimiting(RateLimiting.Public).MapPushRoutes();
        return endpoints;
    }
}
