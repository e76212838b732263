using LiveNews.Server.Bus;
using LiveNews.Server.Editors;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

/// <summary>Share an article to chosen accounts, follow the jobs, retry one; and readers' share links.</summary>
internal static class SocialApi
{
    private const int MaxTextLength = 5000;

    public sealed record ShareBody(List<string>? Accounts, Dictionary<string, string>? Text);

    public static void MapShares(this RouteGroupBuilder editors)
    {
        editors.MapPost("/articles/{id}/shares", ShareAsync).Accepts<ShareBody>("application/json").WithName("ShareArticle");
        editors.MapGet("/articles/{id}/shares", ListAsync).WithName("ListShares");
        editors.MapPost("/shares/{jobId}/retry", RetryAsync).WithName("RetryShare");
    }

    public static void MapShareLinks(this RouteGroupBuilder readers) =>
        readers.MapGet("/articles/{id}/share-links", ShareLinksAsync).WithName("GetShareLinks");

    private static async Task<IResult> ShareAsync(string id, HttpContext http, JsonBody body, ShareService shares)
    {
        var check = new Validation();
        check.Id("id", id);
        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        var (request, problem) = await body.ReadAsync<ShareBody>(http.Request);
        if (problem is not null)
        {
            return problem;
        }

        var accounts = new List<SocialAccountOptions>();
        if (request!.Accounts is not { Count: > 0 })
        {
            check.Add("accounts", "Name at least one configured account.");
        }

        for (var i = 0; i < (request.Accounts?.Count ?? 0); i++)
        {
            var name = request.Accounts![i];
            var account = shares.Accounts.FirstOrDefault(a => a.Name == name);
            if (account is null)
            {
                check.Add($"accounts[{i}]", $"No account named '{Clip(name)}' is configured (configured: {string.Join(", ", shares.Accounts.Select(a => a.Name))}).");
            }
            else if (!accounts.Contains(account))
            {
                accounts.Add(account);
            }
        }

        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, text) in request.Text ?? [])
        {
            if (request.Accounts?.Contains(name) != true)
            {
                check.Add($"text.{Clip(name)}", "Text is for an account this request does not share to.");
                continue;
            }

            var value = check.OptionalText($"text.{name}", text, MaxTextLength, multiline: true);
            if (value is not null)
            {
                texts[name] = value;
            }
        }

        if (!check.IsValid)
        {
            return TypedResults.ValidationProblem(check.Errors);
        }

        if (await shares.PublishedArticleAsync(id) is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "Only a published article can be shared.");
        }

        var jobs = await shares.ShareAsync(id, accounts, texts, EventIds.For(http));
        return TypedResults.Accepted($"/api/articles/{id}/shares", new { jobs = jobs.Select(ShareJobView.Of) });
    }

    private static async Task<IResult> ListAsync(string id, ShareService shares) =>
        Topic.IsValidArticleId(id)
            ? TypedResults.Ok(new { jobs = (await shares.ForArticleAsync(id)).Select(ShareJobView.Of) })
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article");

    private static async Task<IResult> RetryAsync(string jobId, ShareService shares)
    {
        var job = Topic.IsValidArticleId(jobId) ? await shares.GetAsync(jobId) : null;
        if (job is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such share job");
        }

        var queued = await shares.RetryAsync(job);
        return queued is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Cannot retry", detail: $"The job is {job.State}; only failed, dead or unconfirmed jobs can be retried.")
            : TypedResults.Accepted($"/api/articles/{job.ArticleId}/shares", ShareJobView.Of(queued));
    }

    private static async Task<IResult> ShareLinksAsync(string id, ShareService shares, IOptions<SocialOptions> options)
    {
        var article = Topic.IsValidArticleId(id) ? await shares.PublishedArticleAsync(id) : null;
        if (article is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such article", detail: "No published article has this id.");
        }

        var utm = options.Value.UtmParameters;
        return TypedResults.Ok(new
        {
            url = ShareLinks.Tagged(article.Url, utm, "share"),
            links = ShareLinks.For(article.Url, article.Headline, utm),
            mastodonSharePath = ShareLinks.MastodonPath(article.Url, article.Headline, utm),
        });
    }

    private static string Clip(string value) => value.Length > 64 ? value[..64] : value;
}
