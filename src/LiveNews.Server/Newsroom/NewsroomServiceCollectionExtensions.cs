using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using LiveNews.Server.Operations;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Newsroom;

internal static class NewsroomServiceCollectionExtensions
{
    public static IServiceCollection AddNewsroom(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NewsroomOptions>()
            .Bind(configuration.GetSection(NewsroomOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<SnapshotOptions>().Configure<IOptions<NewsroomOptions>>((snapshots, newsroom) =>
        {
            snapshots.ArticleEntries = newsroom.Value.SnapshotEntries;
            snapshots.MaxEntriesPerArticle = newsroom.Value.MaxEntriesPerArticle;
        });
        services.AddExceptionHandler<NewsroomExceptionHandler>();
        services.AddSingleton<Publisher>();
        services.AddSingleton<BreakingExpiry>();
        services.AddHostedService(sp => sp.GetRequiredService<BreakingExpiry>());
        services.AddSingleton<LatestMirrors>();
        services.AddHostedService(sp => sp.GetRequiredService<LatestMirrors>());
        return services;
    }

    /// <summary>The editor API (publish scope, idempotent) and the public topic reads, under <c>/api</c>.</summary>
    public static IEndpointRouteBuilder MapNewsroom(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api");
        api.MapGroup("").WithTags("Readers").AllowAnonymous().RequireRateLimiting(RateLimiting.Public).MapReads();

        var editors = api.MapGroup("")
            .WithTags("Newsroom")
            .RequireAuthorization(EditorScopes.Publish)
            .RequireRateLimiting(RateLimiting.Editor)
            .AddEndpointFilter<Idempotency>();
        editors.MapLive();
        editors.MapBreaking();
        editors.MapArticles();
        editors.MapEntries();
        return endpoints;
    }
}
