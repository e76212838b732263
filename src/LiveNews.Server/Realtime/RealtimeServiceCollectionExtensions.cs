using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

internal static class RealtimeServiceCollectionExtensions
{
    public static IServiceCollection AddRealtime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RealtimeOptions>()
            .Bind(configuration.GetSection(RealtimeOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSignalR(hub => hub.AddFilter<HubInvocationLimit>());
        services.AddOptions<HubOptions>().Configure<IOptions<RealtimeOptions>>((hub, realtime) =>
            hub.MaximumReceiveMessageSize = realtime.Value.MaximumReceiveMessageSize);
        services.AddSingleton<Subscribers>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<Subscribers>());
        services.AddSingleton<SharedReads>();
        services.AddSingleton<HubConnections>();
        services.AddSingleton<DefaultHubLifetimeManager<LiveHub>>();
        services.AddSingleton<HubLifetimeManager<LiveHub>, LiveHubLifetimeManager>();
        return services;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder endpoints)
    {
        // An editor's connection ends when its sign-in does (token expiry, or the API key's recheck), so
        // rights are checked when they are used; the client reconnects and signs in again.
        endpoints.MapHub<LiveHub>(RateLimiting.HubPath + "/live", hub => hub.CloseOnAuthenticationExpiration = true)
            .RequireRateLimiting(RateLimiting.Connections);
        return endpoints;
    }
}
