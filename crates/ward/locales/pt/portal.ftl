# O portal de denúncias em português. As mesmas mensagens do inglês (um teste verifica);
# palavras simples e calmas, para alguém que pode estar abalado e num telemóvel ou celular.

## Esta língua, com o seu próprio nome.
language-name = Português

## Todas as páginas.
service-name = Denunciar abuso sexual infantil na internet
skip-to-content = Ir para o conteúdo principal
quick-exit = Sair deste site agora
quick-exit-hint = Ou pressione a tecla Esc duas vezes para sair rapidamente.
languages-label = Idiomas
other-countries = Outros países e idiomas
run-by = Este serviço é gerido por { $hotline }.
footer-privacy = Não guardamos o seu endereço de internet (endereço IP), nem mais nada sobre o seu aparelho, com a sua denúncia. Só guardamos o seu e-mail se nos der, e só o usamos para lhe dizer o que aconteceu.
error-prefix = Erro:

## O formulário de denúncia.
form-heading = Denunciar abuso sexual infantil na internet
form-intro = Se viu imagens ou vídeos sexuais de uma criança num site ou numa aplicação, diga-nos onde. Não precisa de dar o seu nome.
scope-heading = O que pode denunciar aqui
scope-body = Imagens ou vídeos na internet que mostram uma criança ou adolescente (qualquer pessoa com menos de 18 anos) vítima de abuso ou exploração sexual.
danger-heading = Há uma criança em perigo neste momento?
danger-call = Ligue para a polícia: { $number }.
danger-call-local = Ligue para o número de emergência do seu país.
other-heading = É outra coisa?
other-body = Para outros conteúdos nocivos, como bullying, ameaças, fraudes ou pornografia de adultos, denuncie-os ao site ou à aplicação onde os viu. Se alguém pede imagens sexuais a uma criança, ou ameaça partilhá-las, avise a polícia.
dont-heading = Por favor, não
dont-download = faça download, guarde nem tire capturas de ecrã (de tela) das imagens ou dos vídeos
dont-send = os envie para nós nem para ninguém, nem mesmo para mostrar o que viu
dont-search = procure mais material deste tipo
dont-why = Copiar ou partilhar este material pode ser crime, mesmo que queira ajudar. Só precisamos do endereço da página. Este formulário nunca pede que envie imagens ou vídeos.
urls-label = Endereços das páginas (URL)
urls-hint = Copie o endereço da barra de endereços do seu navegador, por exemplo https://example.com/pagina. Ponha cada endereço numa linha. Pode denunciar até 20 de cada vez.
kind-legend = O que viu?
kind-images = Imagens
kind-videos = Vídeos
kind-both = Imagens e vídeos
kind-unsure = Não tenho a certeza
description-label = Mais alguma coisa que devamos saber (opcional)
description-hint = Por exemplo, como o encontrou, ou uma senha necessária para o ver. Não precisa de descrever as imagens ou os vídeos.
email-label = O seu e-mail (opcional)
email-hint = Só se quiser que lhe digamos o que aconteceu. Não o usaremos para mais nada.
send = Enviar denúncia
status-link = Já enviou uma denúncia? Veja o estado dela

## Erros do formulário, cada um no topo e junto do seu campo.
error-summary-title = Há um problema
error-urls-missing = Escreva o endereço da página onde o viu
error-urls-too-many = Escreva no máximo 20 endereços. Pode enviar os outros noutra denúncia.
error-url-scheme = A linha { $line } não é um endereço que possa denunciar aqui. Tem de começar por http:// ou https://
error-url-invalid = A linha { $line } não é um endereço de página. Verifique-o e tente de novo.
error-url-too-long = O endereço na linha { $line } é demasiado longo.
error-kind-missing = Escolha o que viu
error-description-too-long = O texto em «Mais alguma coisa que devamos saber» é demasiado longo. Use no máximo 5000 caracteres.
error-email-invalid = Escreva um e-mail como nome@example.com, ou deixe o campo vazio
notice-heading = A sua denúncia ainda não foi enviada
notice-csrf = Pela sua segurança, envie o formulário de novo. As suas respostas continuam aqui. Se voltar a acontecer, verifique se o seu navegador aceita cookies deste site.
notice-busy = Enviou várias denúncias em pouco tempo. Aguarde um minuto e envie esta de novo. As suas respostas continuam aqui.

## Depois de enviar.
filed-title = Denúncia enviada
filed-reference-label = O seu número de referência
filed-keep = Anote este número ou guarde-o num lugar seguro. É a única forma de acompanhar a sua denúncia, porque não sabemos quem é.
next-heading = O que acontece a seguir
next-check = Um analista verifica cada endereço que nos deu. Nunca lhe será mostrado o que encontrarmos.
next-remove = Se as imagens ou os vídeos forem ilegais, pedimos ao site que os remova e informamos a polícia quando for necessário.
next-status = Pode ver o estado da sua denúncia a qualquer momento com o seu número de referência.
next-email = Se nos deu o seu e-mail, escreveremos a dizer-lhe o que aconteceu.
filed-status-link = Ver o estado desta denúncia
filed-another = Denunciar outro endereço
support-heading = Cuide-se
support-body = Ver este tipo de material pode ser muito perturbador. A culpa não é sua. Falar com alguém de confiança, ou com um serviço de apoio, pode ajudar.

## Acompanhar uma denúncia.
status-title = Ver uma denúncia
status-intro = Escreva o número de referência que recebeu quando enviou a sua denúncia.
reference-label = Número de referência
reference-hint = Começa por R, por exemplo R-7K3M-Q9XP-2D4F.
status-send = Ver o estado
error-reference-missing = Escreva o seu número de referência
error-reference-invalid = Escreva o número de referência tal como o recebeu, por exemplo R-7K3M-Q9XP-2D4F
error-reference-unknown = Não há nenhuma denúncia com este número de referência. Verifique-o e tente de novo.
status-sent-on = Enviada em { $date }
status-caption = O estado de cada endereço
status-url = Endereço da página
status-state = Estado
status-urls-note = Os endereços aparecem como texto, não como ligações, para que ninguém os abra por engano.
status-another = Ver outra denúncia
state-received = Recebida: aguarda verificação
state-unreachable = Ainda não conseguimos aceder a este endereço. Vamos tentar de novo.
state-refused = Não podemos verificar este endereço porque não é um endereço público da internet.
state-known = Verificado: este material já é conhecido e já está em tratamento.
state-queued = Aguarda a verificação de um analista
state-assessed = Verificado: um analista encontrou material ilegal. Serão tomadas medidas.
state-not-actionable = Verificado: não foi possível agir sobre este endereço.
state-noticed = Foi pedido ao site que o remova.
state-removed = Removido: o endereço já não mostra este material.

## Outras páginas.
not-found-title = Página não encontrada
not-found-body = Não há nenhuma página de denúncia neste endereço. Verifique o endereço, ou use o formulário para todos os países.
not-found-link = Ir para o formulário de denúncia
upload-title = Este formulário não aceita imagens nem vídeos
upload-body = Nunca envie imagens nem vídeos, nem para nós nem para ninguém. Envie só o endereço da página onde os viu.
back-to-form = Voltar ao formulário
error-title = Lamentamos, há um problema no serviço
error-body = A sua denúncia não foi enviada. Tente de novo mais tarde.
countries-heading = Páginas de um país
countries-intro = Estas páginas dão o número de emergência do país e são mostradas nas suas línguas.

## Os países, em português.
country-gb = Reino Unido
country-us = Estados Unidos
country-ca = Canadá
country-fr = França
country-es = Espanha
country-mx = México
country-ma = Marrocos
country-eg = Egito
country-br = Brasil
country-pt = Portugal

## Pedido da própria pessoa: quem aparece numa imagem impede que seja partilhada, sem a enviar.
self-link-heading = Uma imagem sua sem roupa ou de teor sexual foi partilhada?
self-link-body = Pode impedir que seja partilhada nos sites e nas aplicações que participam, sem a mostrar a ninguém.
self-link = Impedir que uma imagem sua seja partilhada
self-title = Impedir que uma imagem sua sem roupa ou de teor sexual seja partilhada
self-intro = Se uma imagem ou um vídeo seu, sem roupa ou de teor sexual, circula na internet, ou se tem medo de que isso aconteça, pode impedir que os sites e as aplicações que participam o mostrem. Nunca envia a imagem nem o vídeo, nem para nós nem para ninguém.
self-who-heading = Para quem é
self-who-body = É para quem aparece na imagem ou no vídeo e tinha menos de 18 anos quando foi feito. O pai, a mãe, um cuidador ou outro adulto de confiança pode ajudar a fazê-lo ou fazê-lo no seu lugar.
self-how-heading = Como funciona
self-how-device = Esta página transforma cada imagem ou vídeo num hash: um código curto de letras e números, criado no seu aparelho. A imagem ou o vídeo nunca sai do seu aparelho. Ninguém o vê, nem mesmo nós.
self-how-send = Só recebemos os hashes. Os sites e as aplicações que participam comparam com os hashes aquilo que as pessoas partilham neles, e removem as cópias que encontram.
self-how-not = A partir de um hash não é possível refazer a imagem. Não pedimos o seu nome e não guardamos o seu endereço de internet (endereço IP).
self-how-limits = Os sites e as aplicações que não participam não vão receber os hashes, e uma cópia muito alterada, por exemplo recortada, pode não ser encontrada. Mesmo assim, pode denunciar os endereços das páginas onde o viu.
self-choose-label = Escolha as imagens ou os vídeos
self-choose-hint = Pode escolher vários ao mesmo tempo. Ficam no seu aparelho; esta página não os mostra.
self-working = Criação dos hashes em curso. As imagens e os vídeos ficam no seu aparelho.
self-ready = Imagens e vídeos prontos: { $count }. Ainda não foi enviado nada.
self-unreadable = Itens que não foi possível ler: { $count }. Só pode usar imagens e vídeos.
self-send = Enviar os hashes
self-noscript = Para criar os hashes é preciso JavaScript, que está desativado neste navegador. Ative-o para este site ou use outro navegador. Nunca envie a própria imagem ou o próprio vídeo: esta página não aceita imagens nem vídeos.
self-case-link = Já tem um número de caso? Adicione mais imagens ou retire o seu caso
self-opened-title = Os seus hashes foram enviados
self-case-label = O seu número de caso
self-code-label = O seu código
self-keep = Anote os dois e guarde-os num lugar seguro. Com eles, pode adicionar mais imagens ou vídeos mais tarde, ou retirar o seu caso. Não podemos mostrar o código outra vez, porque não sabemos quem é.
self-received = Recebemos os hashes. Imagens e vídeos: { $count }.
self-next-heading = O que acontece a seguir
self-next-body = Os sites e as aplicações que participam procuram cópias e removem as que encontram. Isto pode demorar alguns dias. Ninguém lhe vai telefonar nem escrever.
self-add-link = Adicionar mais imagens ou vídeos a este caso
self-case-title = O seu caso
self-case-intro = Escreva o seu número de caso e o seu código para adicionar mais imagens ou vídeos, ou para retirar o seu caso.
self-number-hint = Começa por S, por exemplo S-7K3M-Q9XP-2D4F.
self-code-hint = O código que recebeu com o seu número de caso, por exemplo 4T7Q-M2XH.
self-add-heading = Adicionar imagens ou vídeos
self-add-send = Adicionar os hashes
self-withdraw-heading = Retirar o seu caso
self-withdraw-body = Se retirar o seu caso, todos os hashes dele são apagados, e os sites e as aplicações que participam são avisados para deixarem de os procurar. Não é possível desfazer isto.
self-withdraw-send = Retirar o meu caso
self-added = Hashes adicionados. Imagens e vídeos: { $count }. O seu caso tem agora hashes de { $total } imagens e vídeos.
self-withdrawn = O seu caso foi retirado. Os hashes dele foram apagados.
self-unavailable-title = Este serviço ainda não está disponível aqui
self-unavailable-body = Ainda não é possível enviar hashes neste site. Mesmo assim, pode denunciar os endereços das páginas onde viu a imagem ou o vídeo.
error-case-missing = Escreva o seu número de caso e o seu código
error-case-unknown = Não há nenhum caso com este número e este código. Verifique-os e tente de novo.
error-case-withdrawn = Este caso foi retirado. Para começar de novo, envie os hashes como um caso novo.
error-hashes-missing = Escolha pelo menos uma imagem ou um vídeo
error-hashes-invalid = Houve um problema ao criar os hashes. Escolha de novo as imagens ou os vídeos.
error-hashes-too-many = Pode enviar hashes de até 50 imagens ou vídeos de cada vez, e de até 500 num mesmo caso.
