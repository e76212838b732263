using LiveNews.Server.Editors;
using LiveNews.Server.Operations;
using LiveNews.Server.Social.Adapters;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

internal static class SocialServiceCollectionExtensions
{
    public const string HttpClientName = "social";

    public static IServiceCollection AddSocial(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SocialOptions>().Bind(configuration.GetSection(SocialOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SocialOptions>, SocialOptionsValidator>();

        // Polly's per-attempt timeout governs; the client's own timeout is only a backstop above it. The
        // factory's request logging is removed: webhook URLs carry their secret in the path, and .NET
        // redacts only the query string.
        services.AddHttpClient(HttpClientName, client => client.Timeout = TimeSpan.FromMinutes(5)).RemoveAllLoggers();
        services.AddSingleton<IShareAdapter, MastodonAdapter>();
        services.AddSingleton<IShareAdapter, BlueskyAdapter>();
        services.AddSingleton<IShareAdapter, XAdapter>();
        services.AddSingleton<IShareAdapter, FacebookAdapter>();
        services.AddSingleton<IShareAdapter, LinkedInAdapter>();
        services.AddSingleton<IShareAdapter, ThreadsAdapter>();
        services.AddSingleton<IShareAdapter, WebhookAdapter>();

        services.AddSingleton<SharePipelines>();
        services.AddSingleton<ShareStore>();
        services.AddSingleton<ShareService>();
        services.AddSingleton<ShareWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ShareWorker>());
        return services;
    }

    public static IEndpointRouteBuilder MapSocial(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api");
        api.MapGroup("").WithTags("Readers").AllowAnonymous().RequireRateLimiting(RateLimiting.Public).MapShareLinks();
        api.MapGroup("")
            .WithTags("Social")
            .RequireAuthorization(EditorScopes.Share)
            .RequireRateLimiting(RateLimiting.Editor)
            .AddEndpointFilter<Idempotency>()
            .MapShares();
        return endpoints;
    }
}
