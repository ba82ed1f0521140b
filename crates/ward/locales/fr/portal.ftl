# Le portail de signalement en français. Mêmes messages que l'anglais (un test le vérifie) ;
# des mots simples et calmes, pour quelqu'un qui peut être bouleversé et sur un téléphone.

## Cette langue, nommée dans cette langue.
language-name = Français

## Toutes les pages.
service-name = Signaler des abus sexuels sur enfants en ligne
skip-to-content = Aller au contenu principal
quick-exit = Quitter ce site maintenant
quick-exit-hint = Ou appuyez deux fois sur Échap pour partir rapidement.
languages-label = Langues
other-countries = Autres pays et langues
run-by = Ce service est géré par { $hotline }.
footer-privacy = Nous ne gardons pas votre adresse internet (adresse IP), ni rien d'autre sur votre appareil, avec votre signalement. Nous ne gardons votre adresse e-mail que si vous la donnez, et seulement pour vous dire ce qui s'est passé.
error-prefix = Erreur :

## Le formulaire de signalement.
form-heading = Signaler des abus sexuels sur enfants en ligne
form-intro = Si vous avez vu des images ou des vidéos sexuelles d'un enfant sur un site web ou une application, dites-nous où. Vous n'avez pas à donner votre nom.
scope-heading = Ce que vous pouvez signaler ici
scope-body = Des images ou des vidéos sur internet qui montrent un enfant (toute personne de moins de 18 ans) victime d'abus ou d'exploitation sexuels.
danger-heading = Un enfant est-il en danger en ce moment ?
danger-call = Appelez la police au { $number }.
danger-call-local = Appelez le numéro d'urgence de votre pays.
other-heading = Autre chose ?
other-body = Pour d'autres contenus nuisibles, comme le harcèlement, les menaces, les arnaques ou la pornographie adulte, signalez-les au site ou à l'application où vous les avez vus. Si quelqu'un demande des images sexuelles à un enfant, ou menace de les diffuser, contactez la police.
dont-heading = Surtout, ne pas
dont-download = télécharger, enregistrer ou faire une capture d'écran des images ou des vidéos
dont-send = les envoyer, ni à nous ni à personne, même pour montrer ce que vous avez vu
dont-search = chercher d'autres contenus de ce type
dont-why = Copier ou partager ces contenus peut être un délit, même si vous voulez aider. Nous avons seulement besoin de l'adresse web. Ce formulaire ne demande jamais de fichier.
urls-label = Adresses web (URL)
urls-hint = Copiez l'adresse depuis la barre d'adresse de votre navigateur, par exemple https://example.com/page. Mettez chaque adresse sur sa propre ligne. Vous pouvez en signaler jusqu'à 20 à la fois.
kind-legend = Qu'avez-vous vu ?
kind-images = Des images
kind-videos = Des vidéos
kind-both = Des images et des vidéos
kind-unsure = Je ne suis pas sûr(e)
description-label = Autre chose à nous dire (facultatif)
description-hint = Par exemple, comment vous l'avez trouvé, ou un mot de passe nécessaire pour le voir. Vous n'avez pas besoin de décrire les images ou les vidéos.
email-label = Votre adresse e-mail (facultatif)
email-hint = Seulement si vous voulez que nous vous disions ce qui s'est passé. Nous ne l'utiliserons pour rien d'autre.
send = Envoyer le signalement
status-link = Vous avez déjà envoyé un signalement ? Consultez son suivi

## Erreurs du formulaire, chacune en haut de la page et à côté de son champ.
error-summary-title = Il y a un problème
error-urls-missing = Indiquez l'adresse web où vous l'avez vu
error-urls-too-many = Indiquez 20 adresses web au maximum. Vous pouvez envoyer les autres dans un autre signalement.
error-url-scheme = La ligne { $line } n'est pas une adresse web que vous pouvez signaler ici. Elle doit commencer par http:// ou https://
error-url-invalid = La ligne { $line } n'est pas une adresse web. Vérifiez-la et réessayez.
error-url-too-long = L'adresse web de la ligne { $line } est trop longue.
error-kind-missing = Choisissez ce que vous avez vu
error-description-too-long = Le texte sous « Autre chose à nous dire » est trop long. Utilisez 5 000 caractères au maximum.
error-email-invalid = Indiquez une adresse e-mail comme nom@example.com, ou laissez le champ vide
notice-heading = Votre signalement n'est pas encore envoyé
notice-csrf = Pour votre sécurité, merci d'envoyer le formulaire à nouveau. Vos réponses sont toujours là. Si cela se reproduit, vérifiez que votre navigateur accepte les cookies de ce site.
notice-busy = Vous avez envoyé plusieurs signalements en peu de temps. Merci d'attendre une minute, puis d'envoyer celui-ci à nouveau. Vos réponses sont toujours là.

## Après l'envoi.
filed-title = Signalement envoyé
filed-reference-label = Votre numéro de référence
filed-keep = Notez ce numéro ou gardez-le dans un endroit sûr. C'est le seul moyen de suivre votre signalement, car nous ne savons pas qui vous êtes.
next-heading = Et ensuite ?
next-check = Un analyste vérifie chaque adresse web que vous avez donnée. On ne vous montrera jamais ce que nous trouvons.
next-remove = Si les images ou les vidéos sont illégales, nous demandons au site de les retirer, et nous prévenons la police si nécessaire.
next-status = Vous pouvez suivre votre signalement à tout moment avec votre numéro de référence.
next-email = Si vous avez donné votre adresse e-mail, nous vous écrirons pour vous dire ce qui s'est passé.
filed-status-link = Voir le suivi de ce signalement
filed-another = Signaler une autre adresse web
support-heading = Prenez soin de vous
support-body = Voir ce genre de contenu peut être très bouleversant. Ce n'est pas de votre faute. En parler à une personne de confiance, ou à un service d'écoute, peut aider.

## Suivre un signalement.
status-title = Suivre un signalement
status-intro = Indiquez le numéro de référence qui vous a été donné quand vous avez envoyé votre signalement.
reference-label = Numéro de référence
reference-hint = Il commence par R, par exemple R-7K3M-Q9XP-2D4F.
status-send = Voir le suivi
error-reference-missing = Indiquez votre numéro de référence
error-reference-invalid = Indiquez le numéro de référence tel qu'il vous a été donné, par exemple R-7K3M-Q9XP-2D4F
error-reference-unknown = Nous n'avons trouvé aucun signalement avec ce numéro de référence. Vérifiez-le et réessayez.
status-sent-on = Envoyé le { $date }
status-caption = Où en est chaque adresse web
status-url = Adresse web
status-state = Suivi
status-urls-note = Les adresses web sont affichées en texte, pas en liens, pour que personne ne les ouvre par erreur.
status-another = Suivre un autre signalement
state-received = Reçu : en attente de vérification
state-unreachable = Nous n'avons pas encore pu joindre cette adresse. Nous réessaierons.
state-refused = Nous ne pouvons pas vérifier cette adresse, car ce n'est pas une adresse web publique.
state-known = Vérifié : ce contenu est déjà connu et il est traité.
state-queued = En attente de vérification par un analyste
state-assessed = Vérifié : un analyste a trouvé un contenu illégal. Des mesures sont prises.
state-not-actionable = Vérifié : nous n'avons pas pu agir sur cette adresse.
state-noticed = Il a été demandé au site de le retirer.
state-removed = Retiré : l'adresse ne montre plus ce contenu.

## Autres pages.
not-found-title = Page introuvable
not-found-body = Il n'y a pas de page de signalement à cette adresse. Vérifiez l'adresse, ou utilisez le formulaire pour tous les pays.
not-found-link = Aller au formulaire de signalement
upload-title = Ce formulaire n'accepte pas de fichiers
upload-body = N'envoyez jamais d'images ni de vidéos, ni à nous ni à personne. Envoyez seulement l'adresse web où vous les avez vues.
back-to-form = Revenir au formulaire
error-title = Désolé, le service rencontre un problème
error-body = Votre signalement n'a pas été envoyé. Merci de réessayer plus tard.
countries-heading = Pages pour un pays
countries-intro = Ces pages donnent le numéro d'urgence du pays et sont proposées dans ses langues.

## Les pays, nommés en français.
country-gb = Royaume-Uni
country-us = États-Unis
country-ca = Canada
country-fr = France
country-es = Espagne
country-mx = Mexique
country-ma = Maroc
country-eg = Égypte
country-br = Brésil
country-pt = Portugal

## Auto-signalement : la personne qui est sur une image en empêche le partage, sans l'envoyer.
self-link-heading = Une image dénudée ou sexuelle de vous est-elle partagée ?
self-link-body = Vous pouvez empêcher son partage sur les sites web et les applications qui participent, sans la montrer à personne.
self-link = Empêcher le partage d'une image de vous
self-title = Empêcher le partage d'une image dénudée ou sexuelle de vous
self-intro = Si une image ou une vidéo dénudée ou sexuelle de vous est partagée en ligne, ou si vous avez peur qu'elle le soit, vous pouvez empêcher les sites web et les applications qui participent de l'afficher. Vous n'envoyez jamais l'image ou la vidéo, ni à nous ni à personne.
self-who-heading = Pour qui ?
self-who-body = C'est pour vous si vous êtes sur l'image ou la vidéo et que vous aviez moins de 18 ans quand elle a été faite. Un parent, une personne qui s'occupe de vous ou un autre adulte de confiance peut le faire avec vous ou à votre place.
self-how-heading = Comment ça marche
self-how-device = Cette page transforme chaque image ou vidéo en empreinte numérique : un code court fait de lettres et de chiffres, créé sur votre appareil. L'image ou la vidéo elle-même ne quitte jamais votre appareil. Personne ne la voit, pas même nous.
self-how-send = Seules les empreintes nous sont envoyées. Les sites web et les applications qui participent comparent ce que leurs utilisateurs partagent avec ces empreintes, et retirent les copies qu'ils trouvent.
self-how-not = Une empreinte ne peut pas redevenir une image. Nous ne demandons pas votre nom et nous ne gardons pas votre adresse internet (adresse IP).
self-how-limits = Les sites web et les applications qui ne participent pas ne recevront pas les empreintes, et une copie très modifiée, par exemple recadrée, peut ne pas être trouvée. Vous pouvez toujours signaler les adresses web où vous l'avez vue.
self-choose-label = Choisissez les images ou les vidéos
self-choose-hint = Vous pouvez en choisir plusieurs à la fois. Elles restent sur votre appareil ; cette page ne les affiche pas.
self-working = Création des empreintes en cours. Les fichiers restent sur votre appareil.
self-ready = Fichiers prêts : { $count }. Rien n'a encore été envoyé.
self-unreadable = Fichiers qui n'ont pas pu être lus : { $count }. Seules les images et les vidéos peuvent être utilisées.
self-send = Envoyer les empreintes
self-noscript = Pour créer les empreintes, il faut JavaScript, qui est désactivé dans ce navigateur. Activez-le pour ce site, ou utilisez un autre navigateur. N'envoyez jamais l'image ou la vidéo elle-même : cette page ne peut pas recevoir de fichiers.
self-case-link = Vous avez déjà un numéro de dossier ? Ajoutez d'autres images ou retirez votre dossier
self-opened-title = Vos empreintes ont été envoyées
self-case-label = Votre numéro de dossier
self-code-label = Votre code
self-keep = Notez les deux et gardez-les dans un endroit sûr. Avec eux, vous pourrez plus tard ajouter d'autres images ou vidéos, ou retirer votre dossier. Nous ne pourrons pas vous montrer le code à nouveau, car nous ne savons pas qui vous êtes.
self-received = Fichiers dont nous avons reçu les empreintes : { $count }.
self-next-heading = Et ensuite ?
self-next-body = Les sites web et les applications qui participent cherchent les copies et retirent celles qu'ils trouvent. Cela peut prendre quelques jours. Personne ne vous contactera.
self-add-link = Ajouter d'autres images ou vidéos à ce dossier
self-case-title = Votre dossier
self-case-intro = Indiquez votre numéro de dossier et votre code pour ajouter d'autres images ou vidéos, ou pour retirer votre dossier.
self-number-hint = Il commence par S, par exemple S-7K3M-Q9XP-2D4F.
self-code-hint = Le code qui vous a été donné avec votre numéro de dossier, par exemple 4T7Q-M2XH.
self-add-heading = Ajouter des images ou des vidéos
self-add-send = Ajouter les empreintes
self-withdraw-heading = Retirer votre dossier
self-withdraw-body = Si vous retirez votre dossier, toutes ses empreintes sont supprimées, et on demande aux sites web et aux applications qui participent d'arrêter de les chercher. Vous ne pourrez pas revenir en arrière.
self-withdraw-send = Retirer mon dossier
self-added = Fichiers ajoutés : { $count }. Fichiers dans votre dossier maintenant : { $total }.
self-withdrawn = Votre dossier a été retiré. Ses empreintes ont été supprimées.
self-unavailable-title = Ce service n'est pas encore proposé ici
self-unavailable-body = Les empreintes ne peuvent pas encore être envoyées sur ce site. Vous pouvez toujours signaler les adresses web où vous avez vu l'image ou la vidéo.
error-case-missing = Indiquez votre numéro de dossier et votre code
error-case-unknown = Nous n'avons trouvé aucun dossier avec ce numéro et ce code. Vérifiez-les et réessayez.
error-case-withdrawn = Ce dossier a été retiré. Pour recommencer, envoyez les empreintes dans un nouveau dossier.
error-hashes-missing = Choisissez au moins une image ou une vidéo
error-hashes-invalid = Un problème est survenu pendant la création des empreintes. Choisissez à nouveau les fichiers.
error-hashes-too-many = Vous pouvez envoyer les empreintes de 50 fichiers au maximum à la fois, et de 500 fichiers au maximum par dossier.
