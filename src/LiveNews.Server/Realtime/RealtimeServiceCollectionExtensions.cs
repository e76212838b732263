using LiveNews.Server.Bus;
using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

internal static class RealtimeServiceCollectionExtensions
{
    private static readonly TimeSpan WebSocketCloseTimeout = TimeSpan.FromSeconds(2);

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
        services.AddSingleton<ViewerCounts>();
        services.AddHostedService(sp => sp.GetRequiredService<ViewerCounts>());
        services.AddSingleton<ServerSentEvents>();
        services.AddSingleton<HubConnections>();
        services.AddSingleton<DefaultHubLifetimeManager<LiveHub>>();
        services.AddSingleton<HubLifetimeManager<LiveHub>, LiveHubLifetimeManager>();
        return services;
    }

    /// <summary>Before the endpoints: lets pushes reach hub WebSockets directly (<see cref="HubSocket"/>).</summary>
    public static IApplicationBuilder UseRealtime(this IApplicationBuilder app) => HubSocket.UseHubSockets(app);

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHub<LiveHub>(RateLimiting.HubPath + "/live", hub =>
            {
                // An editor's connection ends when its sign-in does (token expiry, or the API key's recheck), so
                // rights are checked when they are used; the client reconnects and signs in again.
                hub.CloseOnAuthenticationExpiration = true;

                // Once the server has sent its close frame, how long a socket may take to answer with its own
                // before it is cut (SignalR's default is 5 s): a draining node waits for every socket to end,
                // and a reader that went silent (a phone that lost its network) would hold the drain that long.
                // A socket that takes no more data cannot be sent the frame at all: the drain's bound cuts it
                // (DeployServiceCollectionExtensions.CloseTimeout).
                hub.WebSockets.CloseTimeout = WebSocketCloseTimeout;
            })
            .RequireRateLimiting(RateLimiting.Connections);
        endpoints.MapGet(ServerSentEvents.Path, (HttpContext http, ServerSentEvents sse) => sse.StreamAsync(http))
            .WithName("ServerSentEvents")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .RequireRateLimiting(RateLimiting.Connections);
        return endpoints;
    }
}
